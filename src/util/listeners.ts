/** A set of listeners told about events; one listener's failure never stops the others or the teller. */
export class Listeners<E> {
  readonly #listeners = new Set<(event: E) => void>();

  /** Adds a listener; returns its unsubscribe. */
  add(listener: (event: E) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  get size(): number {
    return this.#listeners.size;
  }

  emit(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // The listener's own business.
      }
    }
  }
}
