/**
 * The seam on the predict path where admission control and batching plug in (issue 12): every
 * /predict goes through a PredictGate, which may run it at once, make it wait in a bounded queue,
 * refuse it (503 with Retry-After), or answer several calls that share a `batchKey` with one model
 * call and split the results back. The default gate runs each call at once and counts the work
 * in flight (for /metrics).
 */
import type { Task } from '../types.js';
import type { TaskPredictionsJson } from '../model/response.js';

export interface PredictCall {
  project: string;
  tasks: Task[];
  /**
   * Calls with equal keys could be answered by one model call (same instance, label config and
   * params, no interactive context); undefined = never batch this call.
   */
  batchKey: string | undefined;
}

/** What one model call answers: one entry per task (or none at all), and the version that answered. */
export interface PredictOutcome {
  results: TaskPredictionsJson[];
  version: string;
}

export type PredictWork = (tasks: Task[]) => Promise<PredictOutcome>;

export interface PredictGate {
  submit(call: PredictCall, work: PredictWork): Promise<PredictOutcome>;
  stats(): { inFlightTasks: number; inFlightCalls: number; waitingCalls: number };
}

/** No bound and no batching: each call runs at once. */
export class DirectPredictGate implements PredictGate {
  #tasks = 0;
  #calls = 0;

  async submit(call: PredictCall, work: PredictWork): Promise<PredictOutcome> {
    this.#tasks += call.tasks.length;
    this.#calls += 1;
    try {
      return await work(call.tasks);
    } finally {
      this.#tasks -= call.tasks.length;
      this.#calls -= 1;
    }
  }

  stats() {
    return { inFlightTasks: this.#tasks, inFlightCalls: this.#calls, waitingCalls: 0 };
  }
}
