/**
 * label-studio-ml-tfjs: the public entry. Examples and users import from here only.
 */
export { LabelStudioMLBase } from './model/base.js';
export type {
  ModelInit, ModelClass, AnyModel, PredictOptions, FitRequest, FitResult, ProjectKeyValue, ModelLogger, PreloadContext, TaskFiles,
} from './model/base.js';
export { LabelInterface, parseLabelConfig, getFirstTagOccurrence, buildLabelMap } from './model/label-config.js';
export type { ControlTag, ObjectTag, LabelTag, ParsedLabelConfig, ParsedControl, TagOccurrence, TagFilters } from './model/label-config.js';
export { ModelResponse, PredictionValue } from './model/response.js';
export type { PredictResult, PredictionObject, TaskPrediction, PredictionInit } from './model/response.js';
export { seedModel } from './model/seed-adapter.js';
export type { SeedModelSpec, SeedInferenceModel, SeedTrainContext } from './model/seed-adapter.js';
export { getTaskText, isPreloadNeeded } from './model/task-data.js';
export { startServer } from './server/start.js';
export type { StartOptions, RunningServer } from './server/start.js';
export { createApp } from './server/app.js';
export { MLBackend } from './backend/ml-backend.js';
export type { MLBackendOptions, BackendStats, TrainNowOptions } from './backend/ml-backend.js';
export type { JobEvent, JobHandler, JobTrigger, RunningJob, JobOutcome } from './backend/job-queue.js';
export type { PredictGate, PredictCall, PredictWork, PredictOutcome } from './backend/predict-gate.js';
export { INITIAL_VERSION } from './backend/trainer.js';
export {
  loadConfig, readSettings, readSetting, integer, decimal, boolean, choice, text, filePath, httpUrl, SERVER_SETTINGS, TEXT_CLASSIFIER_SETTINGS,
} from './config/index.js';
export type { BackendConfig, Setting, SettingsSchema, SettingsOf } from './config/index.js';
export { createLogger } from './logger.js';
export { LabelStudioClient } from './io/label-studio-client.js';
export { tf, initTfRuntime, getTfRuntimeInfo, memoryStats } from './tf/runtime.js';
export { fileSystemIO } from './tf/file-io.js';
export type { Embedder, EmbedOptions, EmbedPriority, Features, DenseFeatures, SparseFeatures, RowCache } from './tf/embedder.js';
export { CachedEmbedder, MemoryRowCache } from './tf/cached-embedder.js';
export { EmbedPool } from './tf/embed-pool.js';
export { CombinedEmbedder } from './tf/combined-embedder.js';
export type { CombinedEmbedderOptions } from './tf/combined-embedder.js';
export type { MixedFeatures } from './tf/embedder.js';
export { loadTextEncoder, lazyEmbedder, useEncoderId, DEFAULT_ENCODER_TUNING, HASHED_ALONE } from './tf/text-encoder.js';
export type { TextEncoder, TextEncoderContext } from './tf/text-encoder.js';
export { encoderSettingsFromEnv, defaultEmbedWorkers, ENCODER_CHOICES } from './tf/encoder-settings.js';
export type { EncoderSettings, EncoderChoice } from './tf/encoder-settings.js';
export { LinearHead, shapeFor, featureBlocks } from './tf/linear-head.js';
export type { LinearHeadShape } from './tf/linear-head.js';
export { trainLinearHead, recipeFor, DEFAULT_TRAIN_OPTIONS } from './tf/train-linear-head.js';
export type { TrainOptions, TrainResult, EpochProgress } from './tf/train-linear-head.js';
export { argmaxRows, macroF1 } from './tf/training-data.js';
export type { Labels } from './tf/training-data.js';
export { singleLabelScore, multiLabelScore, isScoreMethod, SCORE_METHODS } from './tf/sampling-scores.js';
export type { ScoreMethod } from './tf/sampling-scores.js';
export type { EmbedPoolOptions } from './tf/embed-pool.js';
export { EmbeddingCache, EMBEDDING_CACHE_FILE } from './store/embedding-cache.js';
export type { EmbeddingCacheOptions, EmbeddingCacheStats } from './store/embedding-cache.js';
export { HashedNgramEmbedder } from './tf/hashed-ngram-embedder.js';
export type { HashedNgramOptions } from './tf/hashed-ngram-embedder.js';
export { UseEmbedder, locateUseWeights, missingUseWeightsMessage, useWeightsPackageDir, USE_WEIGHTS_PACKAGE } from './tf/use-embedder.js';
export { USE_LITE_CATALOG, downloadUseFiles, verifyUseDir } from './tf/use-files.js';
export type { UseCatalog } from './tf/use-files.js';
export {
  ERROR_CATALOGUE,
  MlBackendError,
  isMlBackendError,
  LabelConfigError,
  TaskDataError,
  CheckpointError,
  ConfigError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export type * from './types.js';
