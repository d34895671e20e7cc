/**
 * A paced probe: one GET every `intervalMs` on one keep-alive connection, as a health checker
 * sends them. Unlike a saturating load it adds almost no CPU, so its latencies show how long the
 * server's main thread was busy with something else (a JSON body, sqlite, a model swap).
 */
import http from 'node:http';
import { summarize } from './bench-utils.js';
import type { LoadResult } from './bench-load.js';

export interface ProbeOptions {
  url: string;
  path: string;
  intervalMs: number;
  /** Upper bound on the run time. */
  durationS: number;
  /** Stops the probe early. */
  until?: Promise<unknown>;
  /** Called with every response (ms since the probe started, latency). */
  onResponse?: (atMs: number, latencyMs: number, status: number) => void;
}

function get(agent: http.Agent, url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('probe request timed out')));
    req.on('error', reject);
  });
}

export async function runProbe(options: ProbeOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(options.path, options.url);
  let stopped = false;
  void options.until?.then(() => (stopped = true));
  const started = performance.now();
  const deadline = started + options.durationS * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  try {
    while (!stopped && performance.now() < deadline) {
      const sent = performance.now();
      try {
        const status = await get(agent, url);
        const latency = performance.now() - sent;
        latencies.push(latency);
        if (status < 200 || status >= 300) non2xx++;
        options.onResponse?.(sent - started, latency, status);
      } catch {
        errors++;
      }
      const wait = sent + options.intervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  } finally {
    agent.destroy();
  }
  const duration = Math.max(1e-3, (performance.now() - started) / 1000);
  return { connections: 1, requests: latencies.length, errors, timeouts: 0, non2xx, duration_s: duration, req_per_s: latencies.length / duration, latency_ms: summarize(latencies) };
}
