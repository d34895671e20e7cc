/** Runs a check every `ms` while it is wanted, one run at a time (never overlapping), off the event loop's keep-alive. */
export class Poller {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly ms: number,
    private readonly check: () => Promise<void>,
    /** Asked after each run: false ends the polling until `start` is called again. */
    private readonly wanted: () => boolean,
  ) {}

  /** Schedules the next run, unless one is scheduled, the poller is stopped, or `ms` is 0 (never). */
  start(): void {
    if (this.#timer || this.#stopped || this.ms <= 0) return;
    this.#timer = setTimeout(() => {
      void this.check().finally(() => {
        this.#timer = undefined;
        if (this.wanted()) this.start();
      });
    }, this.ms);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
