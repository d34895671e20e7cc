/**
 * Prometheus metrics (prom-client): requests by route and status, latency, predictions served,
 * training jobs by outcome and duration, the version each project serves, readiness, predict work
 * in flight, the prediction refresh's progress and outcomes, TF.js memory, and the process
 * metrics prom-client collects by default. Everything about the backend comes through its façade:
 * job events and `stats()` read at scrape time. In distributed mode the job metrics are the
 * deployment's (every process hears of every job), so every api replica answers the same; the
 * role and the Redis connection are reported too.
 */
import client from 'prom-client';
import type { BackendStats, MLBackend } from '../backend/ml-backend.js';
import { memoryStats } from '../tf/runtime.js';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'route' | 'method' | 'status'>;
  readonly latency: client.Histogram<'route'>;
  readonly predictions: client.Counter;

  constructor(backend: MLBackend) {
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
    const jobs = new client.Counter({ name: 'mlbackend_training_jobs_total', help: 'Finished training jobs by outcome', labelNames: ['outcome'], registers });
    const jobDuration = new client.Histogram({
      name: 'mlbackend_training_duration_seconds',
      help: 'Training job duration by outcome',
      labelNames: ['outcome'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    backend.onJobEvent(({ type, job }) => {
      if (type !== 'finished' || (job.kind ?? 'train') !== 'train') return;
      jobs.inc({ outcome: job.state });
      if (job.durationMs !== undefined) jobDuration.observe({ outcome: job.state }, job.durationMs / 1000);
    });
    refreshMetrics(backend, registers);

    // Read at scrape time, so the gauges are right from start-up and after trainings and rollbacks;
    // gauges collected at the same moment share one reading.
    let reading: Promise<BackendStats> | undefined;
    const stats = () => (reading ??= backend.stats().finally(() => (reading = undefined)));
    new client.Gauge({
      name: 'mlbackend_training_in_progress',
      help: 'Training jobs running now',
      registers,
      async collect() {
        this.set((await stats()).jobs.running);
      },
    });
    new client.Gauge({
      name: 'mlbackend_jobs_pending',
      help: 'Jobs waiting to start (in distributed mode: of the whole deployment)',
      registers,
      async collect() {
        this.set((await stats()).jobs.pending);
      },
    });
    new client.Gauge({
      name: 'mlbackend_model_version_info',
      help: 'Version each project serves (value 1)',
      labelNames: ['project', 'version'],
      registers,
      async collect() {
        const { servedVersions } = await stats();
        this.reset();
        for (const { project, version } of servedVersions) this.set({ project, version }, 1);
      },
    });
    new client.Gauge({
      name: 'mlbackend_ready',
      help: '1 once the model preload finished and while not shutting down (what /ready reports)',
      registers,
      collect() {
        this.set(backend.readiness().ready ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'mlbackend_predict_tasks_in_flight',
      help: 'Tasks of /predict calls being answered now',
      registers,
      async collect() {
        this.set((await stats()).predict.inFlightTasks);
      },
    });
    new client.Gauge({
      name: 'mlbackend_build_info',
      help: 'Model class and TF.js backend of this process (value 1)',
      labelNames: ['model', 'tfjs_backend', 'tfjs_native'],
      registers,
    }).set({ model: backend.modelName, tfjs_backend: backend.tfRuntime.backend, tfjs_native: backend.tfRuntime.native ?? 'none' }, 1);
    const { role, redisStatus } = backend.deployment;
    new client.Gauge({ name: 'mlbackend_role_info', help: 'ROLE of this process (value 1)', labelNames: ['role'], registers }).set({ role }, 1);
    if (redisStatus() !== undefined) {
      new client.Gauge({
        name: 'mlbackend_redis_up',
        help: '1 while the Redis connection of distributed mode is ready',
        registers,
        collect() {
          this.set(redisStatus() === 'ready' ? 1 : 0);
        },
      });
    }
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
}

/** The prediction refresh: its tasks done, to do and failed per project (from job progress), and finished jobs by outcome. */
function refreshMetrics(backend: MLBackend, registers: client.Registry[]): void {
  const tasks = new client.Gauge({
    name: 'mlbackend_prediction_refresh_tasks',
    help: 'Tasks of the latest prediction refresh per project: done, total (to do) and errors (failed)',
    labelNames: ['project', 'count'],
    registers,
  });
  const refreshJobs = new client.Counter({ name: 'mlbackend_prediction_refresh_jobs_total', help: 'Finished prediction refresh jobs by outcome', labelNames: ['outcome'], registers });
  const written = new client.Counter({ name: 'mlbackend_prediction_refresh_written_total', help: 'Predictions the refresh wrote into Label Studio', registers });
  backend.onJobEvent(({ type, job }) => {
    if (job.kind !== 'refresh-predictions') return;
    const { done, total, errors } = job.progress ?? {};
    if (done !== undefined) tasks.set({ project: job.project, count: 'done' }, done);
    if (total !== undefined) tasks.set({ project: job.project, count: 'total' }, total);
    if (errors !== undefined) tasks.set({ project: job.project, count: 'errors' }, errors);
    if (type !== 'finished') return;
    refreshJobs.inc({ outcome: job.state });
    written.inc(job.metrics?.['written'] ?? 0);
  });
}
