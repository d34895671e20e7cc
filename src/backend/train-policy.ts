/**
 * Decides which annotation events start training: every N annotation events per project
 * (TRAIN_EVERY_N_ANNOTATIONS; 0 = only START_TRAINING). The minimum interval between trainings
 * is the job queue's business (the pending job waits, so the last annotations are never dropped).
 * The count is kept by the store set's EventCounter: in memory, or in Redis so that webhooks
 * landing on different replicas count together.
 */
import type { EventCounter } from '../store/types.js';

export class TrainPolicy {
  constructor(
    private readonly everyN: number,
    private readonly counter: EventCounter,
  ) {}

  /** Records `events` annotation events; true when they should start (or join) a training. */
  async onAnnotationEvents(project: string, events: number): Promise<boolean> {
    if (this.everyN <= 0 || events <= 0) return false;
    if ((await this.counter.add(project, events)) < this.everyN) return false;
    await this.counter.reset(project);
    return true;
  }

  /** START_TRAINING and /train reset the count: they train on everything anyway. */
  reset(project: string): Promise<void> {
    return this.counter.reset(project);
  }
}
