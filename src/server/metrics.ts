/**
 * Prometheus metrics (prom-client): requests by route and status, latency, predictions served,
 * training jobs by outcome and duration, the version each project serves, readiness, TF.js
 * memory, and the process metrics prom-client collects by default.
 */
import client from 'prom-client';
import type { JobRecord } from '../types.js';
import type { MLBackend } from '../backend/ml-backend.js';
import { memoryStats } from '../tf/runtime.js';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'route' | 'method' | 'status'>;
  readonly latency: client.Histogram<'route'>;
  readonly predictions: client.Counter;
  readonly jobs: client.Counter<'outcome'>;
  readonly jobDuration: client.Histogram<'outcome'>;

  constructor() {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: 'mlbackend_' });
    this.requests = new client.Counter({ name: 'mlbackend_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.latency = new client.Histogram({
      name: 'mlbackend_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.predictions = new client.Counter({ name: 'mlbackend_predictions_total', help: 'Task predictions served', registers });
    this.jobs = new client.Counter({ name: 'mlbackend_training_jobs_total', help: 'Finished training jobs by outcome', labelNames: ['outcome'], registers });
    this.jobDuration = new client.Histogram({
      name: 'mlbackend_training_duration_seconds',
      help: 'Training job duration by outcome',
      labelNames: ['outcome'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    new client.Gauge({
      name: 'mlbackend_tfjs_tensors',
      help: 'Live TF.js tensors on the main thread',
      registers,
      collect() {
        this.set(memoryStats().numTensors);
      },
    });
    new client.Gauge({
      name: 'mlbackend_tfjs_bytes',
      help: 'Bytes held by live TF.js tensors on the main thread',
      registers,
      collect() {
        this.set(memoryStats().numBytes);
      },
    });
  }

  /** Follows the backend: its job queue, the versions it serves and its readiness. */
  watch(backend: MLBackend): void {
    const registers = [this.registry];
    const training = new client.Gauge({ name: 'mlbackend_training_in_progress', help: 'Training jobs running now', registers });
    training.set(0);
    backend.queue.on('started', () => training.set(backend.queue.runningCount));
    backend.queue.on('finished', (job: JobRecord) => {
      training.set(backend.queue.runningCount);
      this.jobs.inc({ outcome: job.state });
      if (job.durationMs !== undefined) this.jobDuration.observe({ outcome: job.state }, job.durationMs / 1000);
    });
    // Read at scrape time from the registry, the one source of truth for what is served: so the
    // gauge is right from start-up (existing checkpoints) and after trainings and rollbacks.
    new client.Gauge({
      name: 'mlbackend_model_version_info',
      help: 'Version each project serves (value 1)',
      labelNames: ['project', 'version'],
      registers,
      async collect() {
        const served = await servedVersions(backend);
        this.reset();
        for (const [project, version] of served) this.set({ project, version }, 1);
      },
    });
    new client.Gauge({
      name: 'mlbackend_ready',
      help: '1 once the model preload finished (what /ready reports)',
      registers,
      collect() {
        this.set(backend.ready.ready ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'mlbackend_build_info',
      help: 'Model class and TF.js backend of this process (value 1)',
      labelNames: ['model', 'tfjs_backend', 'tfjs_native'],
      registers,
    }).set({ model: backend.modelClass.modelName, tfjs_backend: backend.tf.backend, tfjs_native: backend.tf.native ?? 'none' }, 1);
  }
}

/** Project → served version, for every project with a directory under MODEL_DIR. */
async function servedVersions(backend: MLBackend): Promise<Array<[string, string]>> {
  const pairs: Array<[string, string]> = [];
  for (const project of await backend.stores.checkpoints.listProjects()) {
    try {
      pairs.push([project, await backend.registry.servedVersion(project)]);
    } catch {
      // One unreadable project must not break the scrape; its own requests report the error.
    }
  }
  return pairs;
}
