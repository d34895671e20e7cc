/** The shapes MLBackend's methods take and give beyond the public types (src/types.ts). */
import type { AnnotatedTask, JsonObject } from '../types.js';
import type { PredictGate } from './predict-gate.js';
import type { ReadinessReport } from './readiness.js';

/** What /metrics reads at scrape time. */
export interface BackendStats {
  readiness: ReadinessReport;
  jobs: { running: number; pending: number };
  predict: ReturnType<PredictGate['stats']>;
  /** The version each project with checkpoints serves. */
  servedVersions: Array<{ project: string; version: string }>;
}

/** What `trainNow` may bring along (the CLI's `train` brings a CSV's rows as annotations). */
export interface TrainNowOptions {
  labelConfig?: string;
  extraParams?: JsonObject;
  annotatedTasks?: AnnotatedTask[];
  event?: string;
  data?: JsonObject;
  /** Replace the stored annotations with Label Studio's export first. @default false */
  refreshFromLabelStudio?: boolean;
}

