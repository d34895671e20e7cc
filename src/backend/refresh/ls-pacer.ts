/**
 * How the refresh talks to Label Studio: at most PREDICTION_REFRESH_CONCURRENCY requests in
 * flight and PREDICTION_REFRESH_RPS per second (p-queue), and a request that fails in a way that
 * may pass (5xx, 429, timeout, network) tried again with exponential backoff and jitter
 * (p-retry). Key and permission failures are not retried: waiting does not fix them.
 */
import PQueue from 'p-queue';
import pRetry from 'p-retry';
import { LabelStudioApiError } from '../../errors.js';

export interface PacerOptions {
  concurrency: number;
  requestsPerSecond: number;
  /** Tries after the first. @default 5 */
  retries?: number;
  /** First backoff. @default 500 */
  minBackoffMs?: number;
  /** Longest backoff. @default 15000 */
  maxBackoffMs?: number;
  onRetry?: (error: LabelStudioApiError, attempt: number) => void;
}

export class LabelStudioPacer {
  readonly #queue: PQueue;
  readonly #options: PacerOptions;

  constructor(options: PacerOptions) {
    this.#options = options;
    const perSecond = options.requestsPerSecond;
    // Fractional rates: one request per 1/rate seconds.
    const [intervalCap, interval] = perSecond >= 1 ? [Math.round(perSecond), 1000] : [1, Math.round(1000 / perSecond)];
    this.#queue = new PQueue({ concurrency: options.concurrency, intervalCap, interval });
  }

  /** One request, paced; retried when `retry` and the failure may pass. */
  run<T>(request: () => Promise<T>, options: { signal: AbortSignal; retry?: boolean }): Promise<T> {
    const once = (): Promise<T> => this.#queue.add(request, { signal: options.signal });
    if (options.retry === false) return once();
    return pRetry(once, {
        shouldRetry: ({ error }) => error instanceof LabelStudioApiError && error.retryable && !options.signal.aborted,
        retries: this.#options.retries ?? 5,
        minTimeout: this.#options.minBackoffMs ?? 500,
        maxTimeout: this.#options.maxBackoffMs ?? 15_000,
        factor: 2,
        randomize: true,
        signal: options.signal,
        onFailedAttempt: ({ error, attemptNumber }) => {
          if (error instanceof LabelStudioApiError && error.retryable) this.#options.onRetry?.(error, attemptNumber);
        },
    });
  }

  /** Backoff before the n-th extra try (1-based), for callers that retry by hand. */
  backoffMs(attempt: number): number {
    const base = Math.min(this.#options.maxBackoffMs ?? 15_000, (this.#options.minBackoffMs ?? 500) * 2 ** (attempt - 1));
    return base / 2 + Math.random() * (base / 2);
  }

  get retries(): number {
    return this.#options.retries ?? 5;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
