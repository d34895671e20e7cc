/** Annotation events per project in memory: the single-process store set's counter. */
import type { EventCounter } from './types.js';

export class MemoryEventCounter implements EventCounter {
  readonly #counts = new Map<string, number>();

  async add(project: string, n: number): Promise<number> {
    const count = (this.#counts.get(project) ?? 0) + n;
    this.#counts.set(project, count);
    return count;
  }

  async reset(project: string): Promise<void> {
    this.#counts.delete(project);
  }
}
