/**
 * Public types shared by the SDK, the server and the examples: the single source of truth.
 * Wire shapes follow Label Studio's ML backend protocol (see README, "Protocol").
 */

/** Any value that survives JSON.stringify/JSON.parse unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A Label Studio task as sent to /predict or found in an export. Extra fields are kept. */
export interface Task {
  id?: number;
  data: Record<string, unknown>;
  annotations?: Annotation[];
  predictions?: unknown[];
  [key: string]: unknown;
}

/** One region/classification of an annotation or prediction (LS region JSON). */
export interface RegionResult {
  id?: string;
  from_name: string;
  to_name: string;
  type: string;
  value: Record<string, unknown>;
  score?: number;
  [key: string]: unknown;
}

/** An annotation as Label Studio sends it in webhooks and exports. */
export interface Annotation {
  id: number;
  task?: number;
  result: RegionResult[];
  was_cancelled?: boolean;
  ground_truth?: boolean;
  [key: string]: unknown;
}

/** A task with the annotations this backend keeps for it: what `fit` trains on. */
export interface AnnotatedTask {
  id: number;
  data: Record<string, unknown>;
  annotations: Annotation[];
}

/** Progress reported by `fit` through its callback; shown by /job_status and the logs. */
export interface TrainProgress {
  /** 1-based epoch just finished, if the trainer works in epochs. */
  epoch?: number;
  epochs?: number;
  loss?: number;
  /** Any other figures worth showing (accuracy, val_loss, ...). */
  metrics?: Record<string, number>;
  /** Free-text phase, e.g. "embedding", "training", "saving". */
  phase?: string;
  /** Items finished and to do, and items that failed (a prediction refresh counts tasks). */
  done?: number;
  total?: number;
  errors?: number;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What a job does: train a new version, or (issue 13) write fresh predictions after a promotion. */
export type JobKind = 'train' | 'refresh-predictions';

/** A job as /job_status reports it. Written only by the job queue. */
export interface JobRecord {
  id: string;
  /** Absent on records written before job kinds existed: those are 'train'. */
  kind?: JobKind;
  project: string;
  state: JobState;
  /** The event that triggered (or last joined) the job: START_TRAINING, ANNOTATION_CREATED, TRAIN, ... */
  event: string;
  /** How many triggers collapsed into this job. */
  triggers: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** Times the job was taken up again because the worker running it stopped (distributed mode). */
  restarts?: number;
  /** The process running (or that last ran) the job, as host:pid (distributed mode). */
  worker?: string;
  progress?: TrainProgress;
  /** Progress reports in order, at most 500 (older ones thinned), for loss curves. */
  history?: Array<TrainProgress & { at: string }>;
  /** Annotations the job trained on. */
  annotationCount?: number;
  /** Version created by a successful job. */
  version?: string;
  /** Version served when the job started. */
  baseVersion?: string;
  error?: string;
  metrics?: Record<string, number>;
}

/**
 * A project's latest prediction refresh into Label Studio (issue 13), from its ledger: what
 * /versions shows as `prediction_refresh` and the /ui page as its progress. Snake case, as on
 * /versions.
 */
export type PredictionRefreshStatus = {
  version: string;
  /** running, done, failed, superseded (a newer version took over), cancelled, interrupted (shutdown; resumed at start). */
  status: 'running' | 'interrupted' | 'done' | 'failed' | 'superseded' | 'cancelled';
  job_id: string;
  only_unlabelled: boolean;
  /** Tasks handled and to handle; errors: tasks whose prediction could not be written (yet). */
  done: number;
  total: number;
  written: number;
  /** Tasks that already had a prediction of this version (none is written twice). */
  skipped: number;
  errors: number;
  /** The first few failed tasks. */
  failures?: Array<{ task: number; attempts: number; error: string }>;
  /** Label Studio's project.model_version now names this version. */
  activated?: boolean;
  error?: string;
  started_at: string;
  updated_at: string;
  finished_at?: string;
};

/** One project as the /ui page shows it (GET /ui/api/projects). */
export interface ProjectOverview {
  project: string;
  /** One entry per control tag of the label config (from the parsed config model). */
  labelConfig: { controls: Array<{ name: string; type: string; toName: string[]; labels: string[]; attributes: Record<string, string> }>; raw: string };
  annotations: { usable: number; cancelled: number; tasks: number };
  currentVersion: string;
  versions: Array<{ version: string; createdAt: string; current: boolean; corrupt?: string; annotationCount?: number;
                    metrics?: Record<string, number>; durationMs?: number; summary: Record<string, string | number | boolean> }>;
  /** Training jobs only; recent: finished ones, newest first, at most 10. */
  jobs: { running?: JobRecord; pending?: JobRecord; recent: JobRecord[] };
  /**
   * The prediction refresh into Label Studio, when one ran or waits (absent without
   * LABEL_STUDIO_URL + LABEL_STUDIO_API_KEY): `latest` from the ledger (any process's refresh),
   * `running`/`pending` the refresh jobs of this process's queue (`running.progress.phase`).
   */
  predictionRefresh?: { latest?: PredictionRefreshStatus; running?: JobRecord; pending?: JobRecord };
}
