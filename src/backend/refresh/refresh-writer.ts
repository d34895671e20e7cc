/**
 * The Label Studio side of one batch: write each task's prediction of the version once. Label
 * Studio has no "create unless present", so just before writing, the batch's tasks that already
 * carry the version (written by an earlier try whose answer was lost, or by Label Studio calling
 * /predict itself) are asked for and left out. A write whose outcome is unknown (5xx, timeout,
 * reset) is tried again after a backoff, with that check first; a batch Label Studio rejects (400:
 * a task deleted meanwhile) is split in halves until the rejected task is alone.
 */
import { LabelStudioApiError } from '../../errors.js';
import { dmFilters, dmQuery, type LabelStudioApi, type LsPrediction } from '../../io/label-studio-api.js';
import { sleep, type LabelStudioPacer } from './ls-pacer.js';

export interface BatchResult {
  written: number;
  /** Tasks that already had a prediction of the version. */
  skipped: number;
  failed: Array<{ task: number; error: string }>;
}

export class RefreshWriter {
  constructor(
    private readonly api: LabelStudioApi,
    private readonly pacer: LabelStudioPacer,
  ) {}

  async write(project: string, version: string, items: LsPrediction[], signal: AbortSignal): Promise<BatchResult> {
    const result: BatchResult = { written: 0, skipped: 0, failed: [] };
    if (items.length === 0) return result;
    const done = new Set<number>();
    let pending = await this.#withoutWritten(project, version, items, result, signal);
    for (let attempt = 1; pending.length > 0; attempt++) {
      try {
        await this.#import(project, pending, result, done, signal);
        return result;
      } catch (error) {
        if (!(error instanceof LabelStudioApiError) || !error.ambiguous || attempt > this.pacer.retries || signal.aborted) throw error;
        await sleep(this.pacer.backoffMs(attempt), signal);
        pending = await this.#withoutWritten(project, version, pending.filter((item) => !done.has(item.task)), result, signal);
      }
    }
    return result;
  }

  /** Drops (and counts) the items whose task already has a prediction of `version`. */
  async #withoutWritten(project: string, version: string, items: LsPrediction[], result: BatchResult, signal: AbortSignal): Promise<LsPrediction[]> {
    const ids = items.map((item) => item.task);
    const page = await this.pacer.run(() => this.api.tasks(project, { pageSize: ids.length, query: dmQuery([dmFilters.hasVersion(version)], ids), signal }), { signal });
    const present = new Set(page.tasks.map((task) => task.id));
    result.skipped += present.size;
    return items.filter((item) => !present.has(item.task));
  }

  /** One bulk import; a 400 is narrowed down to the task(s) Label Studio rejects. */
  async #import(project: string, items: LsPrediction[], result: BatchResult, done: Set<number>, signal: AbortSignal): Promise<void> {
    try {
      // Not retried here: an unknown outcome needs the check in write() first.
      await this.pacer.run(() => this.api.importPredictions(project, items, signal), { signal, retry: false });
      result.written += items.length;
      for (const item of items) done.add(item.task);
    } catch (error) {
      if (!(error instanceof LabelStudioApiError) || error.kind !== 'bad_request') throw error;
      if (items.length === 1) {
        result.failed.push({ task: items[0]!.task, error: error.message });
        return;
      }
      const half = Math.ceil(items.length / 2);
      await this.#import(project, items.slice(0, half), result, done, signal);
      await this.#import(project, items.slice(half), result, done, signal);
    }
  }
}
