/**
 * The prediction refresh job (kind 'refresh-predictions'): lists the project's tasks that lack a
 * prediction of the version (only unlabelled ones unless asked otherwise) in id order, predicts
 * them in batches and writes them into Label Studio with the version and its score, then makes
 * the version Label Studio's `model_version` and removes this backend's older versions.
 *
 * Resumable and idempotent: the listing itself leaves out tasks that already carry the version,
 * the ledger (./refresh-state.ts) keeps a cursor, and every write is checked first
 * (./refresh-writer.ts). A refresh that follows the served version stops as soon as a newer one
 * is served (a new refresh takes over). Failed tasks are tried again with backoff at the end.
 */
import type { Logger } from '../../logger.js';
import type { JsonObject, Task, TrainProgress } from '../../types.js';
import type { CheckpointStore } from '../../store/types.js';
import { dmFilters, dmQuery, type LabelStudioApi, type LsPrediction, type LsTask } from '../../io/label-studio-api.js';
import { errorMessage, isObject } from '../../util/json.js';
import type { JobOutcome, RunningJob } from '../job-queue.js';
import type { ProjectSettings } from '../project-settings.js';
import { activateVersion, deleteOlderVersions } from './refresh-activation.js';
import { openPredictor, VersionChanged, type PredictorDeps, type TaskOutcome, type VersionPredictor } from './refresh-predictor.js';
import { MAX_RECORDED_FAILURES, newState, thisProcess, type RefreshLedger, type RefreshState } from './refresh-state.js';
import { RefreshWriter } from './refresh-writer.js';
import { sleep, type LabelStudioPacer } from './ls-pacer.js';

/** Tries per failed task within one job. */
const MAX_TASK_ATTEMPTS = 3;
const TASK_BACKOFF_MS = 1000;
const LOG_EVERY_MS = 5000;

export interface RefreshRequest {
  /** A version asked for; otherwise the served one. */
  version?: string;
  onlyUnlabelled: boolean;
  batch?: number;
}

export interface RefresherDeps {
  api: LabelStudioApi;
  pacer: LabelStudioPacer;
  ledger: RefreshLedger;
  predictor: PredictorDeps;
  settings: ProjectSettings;
  checkpoints: CheckpointStore;
  currentVersion(project: string): Promise<string>;
  batch: number;
  oldVersions: 'delete' | 'keep';
  logger: Logger;
  isShuttingDown(): boolean;
  cancelJob(jobId: string, reason: string): Promise<boolean>;
}

/** The trigger data of a refresh job. */
export function refreshTriggerData(request: RefreshRequest): JsonObject {
  return {
    ...(request.version !== undefined && { version: request.version, pinned: true }),
    only_unlabelled: request.onlyUnlabelled,
    ...(request.batch !== undefined && { batch: request.batch }),
  };
}

export class PredictionRefresher {
  constructor(private readonly deps: RefresherDeps) {}

  async run(job: RunningJob, onProgress: (progress: TrainProgress) => void): Promise<JobOutcome> {
    const { deps } = this;
    const project = job.record.project;
    const data = job.trigger.data;
    const pinned = data['pinned'] === true && typeof data['version'] === 'string';
    const version = pinned ? (data['version'] as string) : await deps.currentVersion(project);
    const onlyUnlabelled = data['only_unlabelled'] !== false;
    const batch = typeof data['batch'] === 'number' ? data['batch'] : deps.batch;
    const prior = await deps.ledger.load(project);
    const resume = job.trigger.event === 'RESUME' && prior?.version === version && prior.only_unlabelled === onlyUnlabelled;
    const state: RefreshState = resume
      ? { ...prior, job_id: job.record.id, status: 'running', owner: thisProcess() }
      : newState({ job_id: job.record.id, version, pinned, only_unlabelled: onlyUnlabelled, batch }, prior);
    const log = deps.logger.child({ project, job: job.record.id, version });
    const run = new RefreshRun(deps, job, state, { project, version, pinned, onlyUnlabelled, batch }, onProgress, log);
    try {
      await deps.ledger.save(project, state);
      log.info({ onlyUnlabelled, resume, cursor: state.cursor }, 'prediction refresh started');
      await run.execute();
      state.status = 'done';
      log.info({ written: state.written, skipped: state.skipped, errors: state.errors, activated: state.activated }, 'prediction refresh finished');
      return { version, metrics: { tasks: state.done, written: state.written, skipped: state.skipped, failed: state.errors, activated: state.activated ? 1 : 0 } };
    } catch (error) {
      const reason: unknown = job.signal.aborted ? job.signal.reason : error;
      if (error instanceof VersionChanged) {
        state.status = 'superseded';
        await deps.cancelJob(job.record.id, error.message);
      } else if (job.signal.aborted) {
        state.status = deps.isShuttingDown() ? 'interrupted' : 'cancelled';
      } else {
        state.status = 'failed';
      }
      state.error = errorMessage(error instanceof VersionChanged ? error : reason);
      log.warn({ status: state.status, err: error }, 'prediction refresh stopped');
      throw error instanceof VersionChanged ? error : reason;
    } finally {
      state.finished_at = new Date().toISOString();
      run.close();
      await deps.ledger.save(project, state).catch((error: unknown) => log.error({ err: error }, 'could not save the refresh ledger'));
    }
  }
}

interface Target {
  project: string;
  version: string;
  pinned: boolean;
  onlyUnlabelled: boolean;
  batch: number;
}

/** One job's work, with its state, predictor and progress. */
class RefreshRun {
  readonly #writer: RefreshWriter;
  #predictor: VersionPredictor | undefined;
  #allFields = false;
  #lastLog = 0;

  constructor(
    private readonly deps: RefresherDeps,
    private readonly job: RunningJob,
    private readonly state: RefreshState,
    private readonly target: Target,
    private readonly onProgress: (progress: TrainProgress) => void,
    private readonly log: Logger,
  ) {
    this.#writer = new RefreshWriter(deps.api, deps.pacer);
  }

  get #signal(): AbortSignal {
    return this.job.signal;
  }

  async execute(): Promise<void> {
    const { deps, target, state } = this;
    const { project, version } = target;
    const lsProject = await deps.pacer.run(() => deps.api.project(project, this.#signal), { signal: this.#signal });
    // With evaluate_predictions_automatically, listing makes Label Studio call /predict itself first.
    this.#allFields = lsProject.evaluate_predictions_automatically === true;
    const labelConfig = lsProject.label_config || (await deps.settings.labelConfig(project));
    if (lsProject.label_config) await deps.settings.rememberLabelConfig(project, lsProject.label_config);
    this.#predictor = await openPredictor(deps.predictor, {
      project, version, served: !target.pinned || version === (await deps.currentVersion(project)), labelConfig, extraParams: await deps.settings.extraParams(project),
    });
    const remaining = await this.#list(state.cursor, 1);
    state.total = state.done + remaining.total;
    this.#progress('writing predictions', true);

    let listCursor = state.cursor;
    let inflight: Promise<void> | undefined;
    for (;;) {
      await this.#checkServed();
      const page = await this.#list(listCursor, target.batch);
      if (page.lastId === undefined) break;
      const pageCursor = page.lastId;
      listCursor = pageCursor;
      const outcomes = await this.#predict(page.tasks);
      await inflight;
      inflight = this.#write(page.tasks, outcomes).then(() => {
        state.cursor = pageCursor;
        return this.#commit('writing predictions');
      });
      inflight.catch(() => undefined); // awaited on the next turn or below
    }
    await inflight;
    await this.#retryFailures();
    await this.#checkServed();
    if (!target.pinned || version === (await deps.currentVersion(project))) await this.#activate();
  }

  close(): void {
    this.#predictor?.close();
  }

  /** One page of tasks still lacking the version, after `cursor`; `lastId` moves the cursor on. */
  async #list(cursor: number, pageSize: number): Promise<{ total: number; tasks: LsTask[]; lastId: number | undefined }> {
    const { deps, target } = this;
    const filters = [dmFilters.lacksVersion(target.version), dmFilters.idAbove(cursor)];
    if (target.onlyUnlabelled) filters.unshift(dmFilters.unlabelled());
    const page = await deps.pacer.run(
      () => deps.api.tasks(target.project, { pageSize, query: dmQuery(filters), allFields: this.#allFields, signal: this.#signal }),
      { signal: this.#signal },
    );
    // Label Studio may have predicted a listed task itself (evaluate_predictions_automatically).
    const tasks = this.#allFields ? page.tasks.filter((t) => !(t.predictions ?? []).some((p) => p.model_version === target.version)) : page.tasks;
    return { total: page.total, tasks, lastId: page.tasks.at(-1)?.id };
  }

  async #predict(tasks: LsTask[]): Promise<Map<number, TaskOutcome>> {
    const usable = tasks.filter((task) => isObject(task.data) && Object.keys(task.data).length > 0);
    return this.#predictor!.predict(usable.map((task): Task => ({ id: task.id, data: task.data })), this.#signal);
  }

  /** Writes one page's predictions; records failures and counts (`firstTry`: the tasks count as done). */
  async #write(tasks: LsTask[], outcomes: Map<number, TaskOutcome>, firstTry = true): Promise<void> {
    const { state, target } = this;
    const items: LsPrediction[] = [];
    for (const task of tasks) {
      const outcome = outcomes.get(task.id);
      if (outcome && 'error' in outcome) this.#fail(task.id, outcome.error);
      else if (outcome && 'prediction' in outcome) items.push({ task: task.id, model_version: target.version, ...outcome.prediction });
      else this.#succeed(task.id); // nothing to write: no data, or the model made no prediction
    }
    if (firstTry) state.done += tasks.length;
    const result = await this.#writer.write(target.project, target.version, items, this.#signal);
    state.written += result.written;
    state.skipped += result.skipped;
    for (const { task, error } of result.failed) this.#fail(task, error);
    for (const item of items) if (!result.failed.some((f) => f.task === item.task)) this.#succeed(item.task);
  }

  /** Failed tasks are tried again (predicted and written) with a growing pause, up to MAX_TASK_ATTEMPTS. */
  async #retryFailures(): Promise<void> {
    const { state, deps, target } = this;
    for (;;) {
      const due = Object.entries(state.failures).filter(([, f]) => f.attempts < MAX_TASK_ATTEMPTS);
      if (due.length === 0) return;
      const wait = Math.max(0, Math.min(...due.map(([, f]) => Date.parse(f.next_at))) - Date.now());
      this.#progress('retrying failed tasks', true);
      await sleep(wait, this.#signal);
      await this.#checkServed();
      const ids = due.map(([id]) => Number(id));
      const filters = [dmFilters.lacksVersion(target.version)];
      if (target.onlyUnlabelled) filters.unshift(dmFilters.unlabelled());
      const page = await deps.pacer.run(() => deps.api.tasks(target.project, { pageSize: ids.length, query: dmQuery(filters, ids), signal: this.#signal }), { signal: this.#signal });
      const listed = new Set(page.tasks.map((t) => t.id));
      for (const id of ids) if (!listed.has(id)) this.#succeed(id); // labelled, deleted or written meanwhile
      await this.#write(page.tasks, await this.#predict(page.tasks), false);
      await this.#commit('retrying failed tasks');
    }
  }

  async #activate(): Promise<void> {
    const { deps, state, target } = this;
    this.#progress('activating the version in Label Studio', true);
    state.activated = await activateVersion(deps.api, deps.pacer, target.project, target.version, this.#signal);
    if (state.activated && deps.oldVersions === 'delete') {
      const ours = new Set([...state.versions_written, ...(await deps.checkpoints.list(target.project)).map((info) => info.version)]);
      state.deleted_versions = await deleteOlderVersions(deps.api, deps.pacer, target.project, target.version, ours, this.#signal);
      if (state.deleted_versions.length > 0) this.log.info({ deleted: state.deleted_versions }, 'older versions removed from Label Studio');
    }
    await this.#commit('done');
  }

  /** A refresh that follows the served version stops when another one is served. */
  async #checkServed(): Promise<void> {
    if (this.target.pinned) return;
    const served = await this.deps.currentVersion(this.target.project);
    if (served !== this.target.version) throw new VersionChanged(served);
  }

  #fail(task: number, error: string): void {
    const { state } = this;
    const prior = state.failures[task];
    if (!prior && Object.keys(state.failures).length >= MAX_RECORDED_FAILURES) {
      state.errors += 1;
      return;
    }
    const attempts = (prior?.attempts ?? 0) + 1;
    if (!prior) state.errors += 1;
    state.failures[task] = { attempts, error: error.slice(0, 300), next_at: new Date(Date.now() + TASK_BACKOFF_MS * 2 ** (attempts - 1)).toISOString() };
  }

  #succeed(task: number): void {
    if (this.state.failures[task]) {
      delete this.state.failures[task];
      this.state.errors -= 1;
    }
  }

  async #commit(phase: string): Promise<void> {
    await this.deps.ledger.save(this.target.project, this.state);
    this.#progress(phase, false);
  }

  #progress(phase: string, force: boolean): void {
    const { state } = this;
    state.total = Math.max(state.total, state.done);
    this.onProgress({ phase, done: state.done, total: state.total, errors: state.errors });
    if (force || Date.now() - this.#lastLog >= LOG_EVERY_MS) {
      this.#lastLog = Date.now();
      this.log.info({ phase, done: state.done, total: state.total, errors: state.errors }, 'prediction refresh progress');
    }
  }
}
