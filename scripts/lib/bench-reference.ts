/**
 * The Python reference backend's serving figures and the targets, from ../shared/TARGETS.md
 * ("Serving over HTTP": reference server trained on sms-spam, autocannon, 8 connections unless
 * said), so each benchmark prints its own rows next to them.
 */

export interface ReferenceRow {
  req_per_s: number;
  tasks_per_s: number | null;
  p99_ms: number;
  max_ms?: number;
}

export const REFERENCE = {
  predict_1task_1conn: { req_per_s: 972, tasks_per_s: 972, p99_ms: 1 },
  predict_1task_8conn: { req_per_s: 699, tasks_per_s: 699, p99_ms: 20 },
  predict_100tasks_1conn: { req_per_s: 210, tasks_per_s: 21_000, p99_ms: 7 },
  predict_100tasks_8conn: { req_per_s: 183, tasks_per_s: 18_300, p99_ms: 99 },
  health_idle: { req_per_s: 3_892, tasks_per_s: null, p99_ms: 6 },
  health_training: { req_per_s: 1_532, tasks_per_s: null, p99_ms: 20, max_ms: 2_519 },
} as const satisfies Record<string, ReferenceRow>;

export const TARGETS = {
  /** /predict throughput at least this many times the reference (1 and 100 tasks). */
  predictSpeedup: 2,
  healthP99Ms: 20,
  healthMaxMs: 200,
  /** Label Studio's /health read timeout. */
  healthLsTimeoutMs: 1_000,
  webhookP99Ms: 50,
  /** New version served this soon after START_TRAINING with 5k annotations. */
  startTrainingToServedMs: 5_000,
  rssBytes: 400 * 2 ** 20,
} as const;

/** The reference pipeline's quality on the test splits (TARGETS.md, "Accuracy"). */
export const QUALITY_REFERENCE: Record<string, { acc: number; f1: number; fitS: number }> = {
  'sms-spam-collection': { acc: 0.9928, f1: 0.9842, fitS: 0.53 },
  'sentiment-labelled-sentences': { acc: 0.8383, f1: 0.8383, fitS: 0.22 },
  banking77: { acc: 0.8828, f1: 0.8827, fitS: 66.3 },
};
