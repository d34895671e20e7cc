/**
 * HTTP load with autocannon's programmatic API, bounded in requests and in time. Latencies are
 * taken from every response (autocannon's float milliseconds, not its 1 ms histogram), and
 * req/s is completed responses over the time from the first request to the last response.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { summarize, type LatencySummary } from './bench-utils.js';

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest, context: object) => AutocannonRequest;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  maxOverallRequests?: number;
  overallRate?: number;
  timeout: number;
  method: string;
  headers: Record<string, string>;
  requests: AutocannonRequest[];
  excludeErrorStats?: boolean;
}

interface AutocannonInstance extends EventEmitter {
  stop(): void;
}

type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: { errors: number; timeouts: number }) => void) => AutocannonInstance;

// autocannon ships no types; it is CommonJS, so require gives the function itself.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadOptions {
  url: string;
  path: string;
  method?: 'GET' | 'POST';
  connections: number;
  /** Upper bound on the run time. */
  durationS: number;
  /** Upper bound on requests; with `bodies`, defaults to their number (none is sent twice). */
  maxRequests?: number;
  /** JSON bodies, used in turn. */
  bodies?: readonly string[];
  /** Total requests per second across connections (paced load instead of saturation). */
  rate?: number;
  /** Stops the run early (e.g. when a training job finished). */
  until?: Promise<unknown>;
  /** Called with every response (time since the start, latency). */
  onResponse?: (atMs: number, latencyMs: number, status: number) => void;
  timeoutS?: number;
}

export interface LoadResult {
  connections: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  duration_s: number;
  req_per_s: number;
  latency_ms: LatencySummary;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const bodies = options.bodies;
  let next = 0;
  const request: AutocannonRequest = {
    method: options.method ?? (bodies ? 'POST' : 'GET'),
    path: options.path,
    ...(bodies
      ? {
          headers: { 'content-type': 'application/json' },
          setupRequest: (req: AutocannonRequest) => ({ ...req, body: bodies[next++ % bodies.length] ?? '{}' }),
        }
      : {}),
  };
  const maxRequests = options.maxRequests ?? bodies?.length;
  const latencies: number[] = [];
  let non2xx = 0;
  let first = 0;
  let last = 0;
  return new Promise((resolve, reject) => {
    first = performance.now();
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationS,
        timeout: options.timeoutS ?? 10,
        method: request.method ?? 'GET',
        headers: {},
        requests: [request],
        ...(maxRequests ? { maxOverallRequests: maxRequests } : {}),
        ...(options.rate ? { overallRate: options.rate } : {}),
      },
      (error, result) => {
        if (error) return reject(error);
        const duration = Math.max(1e-3, (last - first) / 1000);
        resolve({
          connections: options.connections,
          requests: latencies.length,
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx,
          duration_s: duration,
          req_per_s: latencies.length / duration,
          latency_ms: summarize(latencies),
        });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, latency: number) => {
      last = performance.now();
      latencies.push(latency);
      if (status < 200 || status >= 300) non2xx++;
      options.onResponse?.(last - first, latency, status);
    });
    void options.until?.then(() => instance.stop());
  });
}
