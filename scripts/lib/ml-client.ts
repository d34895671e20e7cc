/**
 * A small Label Studio stand-in talking to a running ML backend over HTTP: /setup, batched
 * /predict, /webhook, legacy /train, GET routes, and waiting for a newly trained model version.
 */
import { predictBody } from './ls-payloads.js';

export interface Prediction {
  choice: string;
  /** Confidence: high = sure, low = uncertain. */
  score: number;
}

export class MlClient {
  constructor(readonly url: string) {}

  async post<T = Record<string, unknown>>(path: string, body: unknown, expect: number[] = [200, 201]): Promise<T> {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!expect.includes(res.status)) throw new Error(`POST ${path} -> ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path} -> ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }

  /** POST /setup; returns the served model_version. */
  async setup(project: number, labelConfig?: string, extraParams?: Record<string, unknown>): Promise<string> {
    const body = { project: String(project), ...(labelConfig ? { schema: labelConfig } : {}), ...(extraParams ? { extra_params: extraParams } : {}) };
    const reply = await this.post<{ model_version: string }>('/setup', body, [200]);
    return reply.model_version;
  }

  /** Predicts `tasks` in sequential batches; returns the chosen label and the score of each. */
  async predict(project: number, labelConfig: string, tasks: ReadonlyArray<{ id: number; text: string }>, batchSize = 100): Promise<{ predictions: Prediction[]; seconds: number; versions: Set<string> }> {
    const predictions: Prediction[] = [];
    const versions = new Set<string>();
    const t0 = performance.now();
    for (let start = 0; start < tasks.length; start += batchSize) {
      const batch = tasks.slice(start, start + batchSize);
      const reply = await this.post<{ results: Array<{ score?: number; model_version?: string; result: Array<{ value: { choices?: string[] } }> }>; model_version?: string }>(
        '/predict',
        predictBody(project, labelConfig, batch),
        [200],
      );
      if (reply.results.length !== batch.length) throw new Error(`/predict returned ${reply.results.length} results for ${batch.length} tasks`);
      if (reply.model_version) versions.add(reply.model_version);
      for (const result of reply.results) {
        predictions.push({ choice: result.result[0]?.value.choices?.[0] ?? '', score: typeof result.score === 'number' ? result.score : NaN });
      }
    }
    return { predictions, seconds: (performance.now() - t0) / 1000, versions };
  }

  /**
   * Polls /setup until the served version differs from `previous` (and /job_status, when a job
   * id is known, to stop at once if the training failed). Bounded by `timeoutMs`.
   */
  async waitForNewVersion(project: number, previous: string, options: { job?: string; timeoutMs?: number; intervalMs?: number } = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    const interval = options.intervalMs ?? 25;
    for (let poll = 0; Date.now() < deadline; poll++) {
      const version = await this.setup(project);
      if (version !== previous) return version;
      if (options.job && poll % 20 === 19) {
        const status = await this.post<{ job_status: string; job?: { error?: unknown } }>('/job_status', { job: options.job }, [200]);
        if (status.job_status === 'failed' || status.job_status === 'canceled') {
          throw new Error(`training job ${options.job} ${status.job_status}: ${JSON.stringify(status.job?.error ?? status)}`);
        }
        if (status.job_status === 'finished') {
          const after = await this.setup(project);
          if (after !== previous) return after;
          throw new Error(`training job ${options.job} finished without a new model version (no usable annotations?)`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
    throw new Error(`project ${project}: no new model version after ${options.timeoutMs ?? 600_000} ms (still ${previous})`);
  }
}
