/**
 * What lives on disk under MODEL_DIR. `store/` knows nothing of HTTP or of models.
 *
 * MODEL_DIR/
 *   backend.sqlite            key-value store, annotations, job records (WAL mode)
 *   <project>/
 *     current                 the served version (a small file, replaced atomically)
 *     <version>/              a complete checkpoint; only ever created by an atomic rename
 *       train_output.json     what fit returned; its `workdir` is this directory
 *       job.json              the job record (event, timings, metrics, annotation count)
 *       manifest.json         size and sha256 of every other file, written last
 *       model/...             whatever fit saved (model.json + weights.bin for TF.js)
 *     <version>.tmp/          a workdir being written; never served, removed at start-up
 */
import type { AnnotatedTask, Annotation, JobRecord, JsonObject, JsonValue } from '../types.js';

/** A version reserved for a training job: fit writes into `workdir`, promote renames it to `dir`. */
export interface PendingCheckpoint {
  project: string;
  version: string;
  /** `<project>/<version>.tmp`: the directory handed to fit. */
  workdir: string;
  /** `<project>/<version>`: where it lands when promoted. */
  dir: string;
}

export interface CheckpointInfo {
  project: string;
  version: string;
  dir: string;
  createdAt: string;
  current: boolean;
  /** Set when the manifest is missing or a file does not match it: never served. */
  corrupt?: string;
  sizeBytes: number;
  trainOutput: JsonObject | null;
  job: JobRecord | null;
}

/** A checkpoint that passed verification and can be handed to a model. */
export interface LoadedCheckpoint {
  project: string;
  version: string;
  dir: string;
  /** train_output.json with `workdir` set to `dir`. */
  trainOutput: JsonObject;
}

export interface CheckpointStore {
  readonly root: string;
  /** Next version name (unique, sortable, human readable) and a fresh empty workdir for it. */
  begin(project: string): Promise<PendingCheckpoint>;
  /**
   * Writes train_output.json (paths under the workdir rewritten to the final dir), job.json and
   * manifest.json, fsyncs them, renames the workdir into place, then switches `current`
   * atomically. Nothing is served from a checkpoint that did not complete every step.
   */
  promote(pending: PendingCheckpoint, trainOutput: JsonObject, job: JobRecord): Promise<CheckpointInfo>;
  /** Removes a workdir that will not be promoted (failed or cancelled job). */
  discard(pending: PendingCheckpoint): Promise<void>;
  /**
   * The verified checkpoint to serve: `current` if intact, else the newest intact version
   * (the fallback is logged through `onProblem`), else null (untrained).
   */
  loadCurrent(project: string): Promise<LoadedCheckpoint | null>;
  /** A specific version, verified; throws CheckpointError if missing or corrupt. */
  load(project: string, version: string): Promise<LoadedCheckpoint>;
  /** All versions of a project, oldest first, each verified (corrupt ones flagged). */
  list(project: string): Promise<CheckpointInfo[]>;
  listProjects(): Promise<string[]>;
  /** Makes `version` current (rollback/roll forward); it must exist and be intact. Persists. */
  setCurrent(project: string, version: string): Promise<void>;
  /** Removes all but the newest `keep` versions, never the current one; returns removed versions. */
  prune(project: string, keep: number): Promise<string[]>;
  /** Removes leftover `*.tmp` workdirs (after a crash). Returns how many. */
  cleanupIncomplete(): Promise<number>;
}

/** Per-project key-value store (LabelStudioMLBase get/set/has), persisted in SQLite. */
export interface KeyValueStore {
  get(project: string, key: string): JsonValue | undefined;
  set(project: string, key: string, value: JsonValue): void;
  has(project: string, key: string): boolean;
  delete(project: string, key: string): void;
}

/** What a webhook or an export gives us about one annotation. */
export interface AnnotationInput {
  annotation: Annotation;
  /** Task id; from `annotation.task` or the webhook's `task.id`. */
  taskId: number;
  /** Task data if the payload carried it (newer LS webhooks, exports, legacy /train). */
  taskData?: Record<string, unknown>;
}

export interface AnnotationCounts {
  /** Kept, not cancelled, with task data: what training sees. */
  usable: number;
  cancelled: number;
  /** Annotations whose task data never arrived. */
  missingTaskData: number;
  tasks: number;
}

/** Every project's annotations, kept so training needs no Label Studio API key. */
export interface AnnotationStore {
  /** Inserts or replaces annotations by id (ANNOTATION_CREATED/UPDATED, ANNOTATIONS_CREATED). */
  upsert(project: string, items: AnnotationInput[]): void;
  /** Removes annotations by id (ANNOTATIONS_DELETED). Returns how many existed. */
  remove(project: string, annotationIds: number[]): number;
  /** Replaces the project's whole set (a full export from Label Studio is authoritative). */
  replaceAll(project: string, tasks: AnnotatedTask[]): void;
  /** Tasks with their non-cancelled annotations and data, ordered by task id. */
  trainingSet(project: string): AnnotatedTask[];
  counts(project: string): AnnotationCounts;
}

/** Job records, so /job_status answers after a restart too. */
export interface JobStore {
  save(job: JobRecord): void;
  get(id: string): JobRecord | undefined;
  /** Newest first. */
  listByProject(project: string, limit?: number): JobRecord[];
  /** Jobs left queued/running by a process that died: marked failed at start-up. Returns them. */
  failInterrupted(reason: string): JobRecord[];
}
