/**
 * Decides which annotation events start training: every N annotation events per project
 * (TRAIN_EVERY_N_ANNOTATIONS; 0 = only START_TRAINING). The minimum interval between trainings
 * is the job queue's business (the pending job waits, so the last annotations are never dropped).
 */
export class TrainPolicy {
  readonly #counts = new Map<string, number>();

  constructor(private readonly everyN: number) {}

  /** Records `events` annotation events; true when they should start (or join) a training. */
  onAnnotationEvents(project: string, events: number): boolean {
    if (this.everyN <= 0 || events <= 0) return false;
    const count = (this.#counts.get(project) ?? 0) + events;
    if (count >= this.everyN) {
      this.#counts.set(project, 0);
      return true;
    }
    this.#counts.set(project, count);
    return false;
  }

  /** START_TRAINING and /train reset the count: they train on everything anyway. */
  reset(project: string): void {
    this.#counts.delete(project);
  }
}
