/**
 * Readiness as code, not a comment: the model's preload runs once, no instance is built before it
 * has finished (`whenPreloaded` gates every build), a failed preload makes every build a 503
 * naming the reason, and a server shutting down is not ready.
 */
import { MlBackendError } from '../errors.js';
import { errorMessage } from '../util/json.js';

export interface ReadinessReport {
  ready: boolean;
  error?: string;
  shuttingDown?: true;
}

export class Readiness {
  #preloaded = false;
  #error: string | undefined;
  #shuttingDown = false;
  readonly #gate: Promise<void>;

  constructor(preload: () => Promise<void>) {
    this.#gate = preload().then(
      () => {
        this.#preloaded = true;
      },
      (error: unknown) => {
        this.#error = errorMessage(error);
        throw new MlBackendError('MLB_ERR_MODEL_NOT_READY', 503, `the model could not be loaded: ${this.#error}`, undefined, { cause: error });
      },
    );
    this.#gate.catch(() => undefined); // reported through report() and whenPreloaded()
  }

  /** Resolves once the preload finished; rejects with MLB_ERR_MODEL_NOT_READY (503) if it failed. */
  whenPreloaded(): Promise<void> {
    return this.#gate;
  }

  get preloaded(): boolean {
    return this.#preloaded;
  }

  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  report(): ReadinessReport {
    if (this.#shuttingDown) return { ready: false, shuttingDown: true, ...(this.#error !== undefined && { error: this.#error }) };
    return this.#error !== undefined ? { ready: false, error: this.#error } : { ready: this.#preloaded };
  }
}
