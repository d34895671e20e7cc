/**
 * Multi-step flows against a running server: bulk annotation ingest, training through legacy
 * /train, waiting for a job, and the version /setup reports (what Label Studio reads).
 */
import { annotationsCreatedWebhook, type Row } from './bench-data.js';
import { postJson } from './bench-server.js';

export interface JobInfo {
  state: string;
  version?: string;
  durationMs?: number;
  metrics?: Record<string, number>;
  annotationCount?: number;
  error?: string;
  progress?: { phase?: string; epoch?: number; epochs?: number };
}

/** Polls /job_status until the job ends; throws unless it finished. */
export async function waitForJob(url: string, jobId: string, timeoutMs = 300_000, pollMs = 100, onStatus?: (status: string, job: JobInfo) => void): Promise<JobInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await postJson(url, '/job_status', { job: jobId });
    const job = body.job as JobInfo;
    onStatus?.(String(body.job_status), job);
    if (body.job_status === 'finished') return job;
    if (body.job_status === 'failed' || body.job_status === 'canceled') throw new Error(`training job ${jobId} ${String(body.job_status)}: ${job.error ?? ''}`);
    if (Date.now() > deadline) throw new Error(`training job ${jobId} still ${String(body.job_status)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Trains through legacy POST /train (the fastest way in) and waits for the job. */
export async function trainViaExport(url: string, body: object, timeoutMs?: number): Promise<JobInfo & { wallMs: number }> {
  const started = performance.now();
  const { body: reply } = await postJson(url, '/train', body);
  const job = await waitForJob(url, String(reply.job), timeoutMs);
  return { ...job, wallMs: performance.now() - started };
}

/** The version POST /setup reports, as Label Studio reads it. */
export async function setupVersion(url: string, project: number, labelConfig: string): Promise<string> {
  const { body } = await postJson(url, '/setup', { project: String(project), schema: labelConfig });
  return String(body.model_version);
}

/** Stores annotations with ANNOTATIONS_CREATED webhooks of `batch` annotations each (ids from `firstId`). */
export async function ingestAnnotations(url: string, project: number, labelConfig: string, rows: readonly Row[], firstId = 1, batch = 500): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < rows.length; i += batch) {
    await postJson(url, '/webhook', annotationsCreatedWebhook(project, labelConfig, rows.slice(i, i + batch), firstId + i));
  }
  return performance.now() - started;
}

/** Polls POST /setup until it reports a version other than `previous`; returns it and when. */
export async function waitForNewVersion(url: string, project: number, labelConfig: string, previous: string, timeoutMs: number, pollMs = 50): Promise<{ version: string; at: number; polls: number }> {
  const deadline = performance.now() + timeoutMs;
  let polls = 0;
  for (;;) {
    const version = await setupVersion(url, project, labelConfig);
    polls++;
    if (version !== previous) return { version, at: performance.now(), polls };
    if (performance.now() > deadline) throw new Error(`/setup still reports ${previous} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
