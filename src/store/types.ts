/**
 * What lives on disk (or, in distributed mode, in Redis). `store/` knows nothing of HTTP or of
 * models. Every store method is asynchronous: the local implementation (SQLite, files) answers
 * at once, and a Redis-backed one (issue 14) can satisfy the same interfaces unchanged.
 *
 * MODEL_DIR/
 *   backend.sqlite            key-value store, annotations, job records (WAL mode)
 *   <project>/
 *     current                 the version named current (a small file, replaced atomically)
 *     <version>/              a complete checkpoint; only ever created by an atomic rename
 *       train_output.json     what fit returned; its `workdir` is this directory
 *       job.json              the training that made it (CheckpointJob: id, event, counts, metrics)
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

/** What a checkpoint records about the training that made it (its job.json); not a job record. */
export type CheckpointJob = Pick<JobRecord, 'id' | 'project' | 'event' | 'createdAt'> &
  Partial<Pick<JobRecord, 'startedAt' | 'annotationCount' | 'baseVersion' | 'metrics' | 'durationMs'>>;

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
  job: CheckpointJob | null;
}

/** A checkpoint that passed verification and can be handed to a model. */
export interface LoadedCheckpoint {
  project: string;
  version: string;
  dir: string;
  /** train_output.json with `workdir` set to `dir`. */
  trainOutput: JsonObject;
}

/** Called with a project whose current version may have changed (here or in another process). */
export type CurrentChangeListener = (project: string) => void;

/**
 * The one owner of "which version is current". Everything else asks (`loadCurrent`) or listens
 * (`onCurrentChange`); nobody keeps its own copy in step by hand.
 */
export interface CheckpointStore {
  readonly root: string;
  /** Next version name (unique, sortable, human readable) and a fresh empty workdir for it. */
  begin(project: string): Promise<PendingCheckpoint>;
  /**
   * Writes train_output.json (paths under the workdir rewritten to the final dir), job.json and
   * manifest.json, fsyncs them, renames the workdir into place, then makes it current. Nothing
   * is served from a checkpoint that did not complete every step. Hashes each file once.
   */
  promote(pending: PendingCheckpoint, trainOutput: JsonObject, job: CheckpointJob): Promise<CheckpointInfo>;
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
  /**
   * Tells `listener` when a project's current version changes: at once for changes made through
   * this store, within the poll interval for changes made by another process. Returns an unsubscribe.
   */
  onCurrentChange(listener: CurrentChangeListener): () => void;
  /** Removes all but the newest `keep` versions, never the current one; returns removed versions. */
  prune(project: string, keep: number): Promise<string[]>;
  /** Removes leftover `*.tmp` workdirs (after a crash) of one project or all. Returns how many. */
  cleanupIncomplete(project?: string): Promise<number>;
  /** Stops watching for changes. */
  close(): void;
}

/**
 * Where "the current version" of each project is written: a small file per project locally; a
 * Redis key with pub/sub in distributed mode. Only the checkpoint store uses it.
 */
export interface VersionPointer {
  /** The version named current, or null with the reason when there is none or it is unreadable. */
  read(project: string): Promise<{ version: string | null; problem?: string }>;
  write(project: string, version: string): Promise<void>;
  /** Tells `listener` when a project read or written here changes; returns an unsubscribe. */
  watch(listener: CurrentChangeListener): () => void;
  close(): void;
}

/** Per-project key-value store (LabelStudioMLBase get/set/has). */
export interface KeyValueStore {
  get(project: string, key: string): Promise<JsonValue | undefined>;
  set(project: string, key: string, value: JsonValue): Promise<void>;
  has(project: string, key: string): Promise<boolean>;
  delete(project: string, key: string): Promise<void>;
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
  upsert(project: string, items: AnnotationInput[]): Promise<void>;
  /** Removes annotations by id (ANNOTATIONS_DELETED). Returns how many existed. */
  remove(project: string, annotationIds: number[]): Promise<number>;
  /** Replaces the project's whole set (a full export from Label Studio is authoritative). */
  replaceAll(project: string, tasks: AnnotatedTask[]): Promise<void>;
  /** Tasks with their non-cancelled annotations and data, ordered by task id. */
  trainingSet(project: string): Promise<AnnotatedTask[]>;
  counts(project: string): Promise<AnnotationCounts>;
}

/** Job records, so /job_status answers after a restart too. Written only by the job queue. */
export interface JobStore {
  save(job: JobRecord): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Newest first. */
  listByProject(project: string, limit?: number): Promise<JobRecord[]>;
  /** Jobs left queued/running by a process that died: marked failed at start-up (single process). Returns them. */
  failInterrupted(reason: string): Promise<JobRecord[]>;
  /** Jobs recorded as queued or running, oldest first (distributed mode checks them against the live queue). */
  listUnfinished(): Promise<JobRecord[]>;
}

/** Annotation events per project since the last training trigger (TRAIN_EVERY_N_ANNOTATIONS). */
export interface EventCounter {
  /** Adds `n` to the project's count; resolves with the new count. */
  add(project: string, n: number): Promise<number>;
  reset(project: string): Promise<void>;
}

/** Everything the backend keeps: one set per process, local or shared. */
export interface Stores {
  kv: KeyValueStore;
  annotations: AnnotationStore;
  jobs: JobStore;
  checkpoints: CheckpointStore;
  /** In memory locally (a restart starts counting again); in Redis when shared. */
  annotationEvents: EventCounter;
  close(): Promise<void>;
}
