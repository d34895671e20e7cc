/**
 * Every project's annotations and task data, so training needs no Label Studio API key.
 * Each call is one transaction: a burst of webhooks loses nothing and a failed call changes nothing.
 * SQLite answers synchronously; the methods are async to satisfy the shared store interface.
 */
import { MlBackendError } from '../errors.js';
import type { AnnotatedTask, Annotation } from '../types.js';
import type { Db } from './database.js';
import type { AnnotationCounts, AnnotationInput, AnnotationStore } from './types.js';

/** Skipped (`was_cancelled`, or `skipped` in old exports) or empty: kept, but never trained on. */
export function isUnusable(annotation: Annotation): boolean {
  return annotation.was_cancelled === true || annotation['skipped'] === true
    || !Array.isArray(annotation.result) || annotation.result.length === 0;
}

export function assertId(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value)) {
    throw new MlBackendError('MLB_ERR_VALIDATION', 400, `${what} must be an integer, got ${JSON.stringify(value) ?? 'undefined'}`);
  }
  return value as number;
}

interface TrainingRow { task_id: number; data_json: string; json: string }

export class SqliteAnnotationStore implements AnnotationStore {
  readonly #db: Db;
  readonly #putTask;
  readonly #putAnnotation;
  readonly #deleteAnnotation;
  readonly #clearProject;
  readonly #training;
  readonly #counts;

  constructor(db: Db) {
    this.#db = db;
    this.#putTask = db.prepare<[string, number, string, string]>(
      `INSERT INTO tasks (project, task_id, data_json, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (project, task_id) DO UPDATE SET data_json = excluded.data_json, updated_at = excluded.updated_at`);
    this.#putAnnotation = db.prepare<[string, number, number, string, number, string]>(
      `INSERT INTO annotations (project, annotation_id, task_id, json, cancelled, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (project, annotation_id) DO UPDATE SET task_id = excluded.task_id, json = excluded.json,
         cancelled = excluded.cancelled, updated_at = excluded.updated_at`);
    this.#deleteAnnotation = db.prepare<[string, number]>('DELETE FROM annotations WHERE project = ? AND annotation_id = ?');
    const clearAnnotations = db.prepare<[string]>('DELETE FROM annotations WHERE project = ?');
    const clearTasks = db.prepare<[string]>('DELETE FROM tasks WHERE project = ?');
    this.#clearProject = (project: string) => { clearAnnotations.run(project); clearTasks.run(project); };
    this.#training = db.prepare<[string], TrainingRow>(
      `SELECT a.task_id, t.data_json, a.json FROM annotations a
       JOIN tasks t ON t.project = a.project AND t.task_id = a.task_id
       WHERE a.project = ? AND a.cancelled = 0 ORDER BY a.task_id, a.annotation_id`);
    this.#counts = db.prepare<[string], AnnotationCounts>(
      `SELECT COALESCE(SUM(a.cancelled = 0 AND t.task_id IS NOT NULL), 0) AS usable,
              COALESCE(SUM(a.cancelled = 1), 0) AS cancelled,
              COALESCE(SUM(a.cancelled = 0 AND t.task_id IS NULL), 0) AS missingTaskData,
              COUNT(DISTINCT CASE WHEN a.cancelled = 0 AND t.task_id IS NOT NULL THEN a.task_id END) AS tasks
       FROM annotations a LEFT JOIN tasks t ON t.project = a.project AND t.task_id = a.task_id
       WHERE a.project = ?`);
  }

  async upsert(project: string, items: AnnotationInput[]): Promise<void> {
    const now = new Date().toISOString();
    this.#db.transaction(() => {
      for (const { annotation, taskId, taskData } of items) {
        // Without task data the stored data (if any) is kept: webhooks often omit it.
        if (taskData !== undefined) this.#putTask.run(project, assertId(taskId, 'Task id'), JSON.stringify(taskData), now);
        this.#putOne(project, annotation, taskId, now);
      }
    })();
  }

  async remove(project: string, annotationIds: number[]): Promise<number> {
    return this.#db.transaction(() =>
      annotationIds.reduce((n, id) => n + this.#deleteAnnotation.run(project, id).changes, 0))();
  }

  async replaceAll(project: string, tasks: AnnotatedTask[]): Promise<void> {
    const now = new Date().toISOString();
    this.#db.transaction(() => {
      this.#clearProject(project);
      for (const task of tasks) {
        this.#putTask.run(project, assertId(task.id, 'Task id'), JSON.stringify(task.data ?? {}), now);
        for (const annotation of task.annotations ?? []) this.#putOne(project, annotation, task.id, now);
      }
    })();
  }

  async trainingSet(project: string): Promise<AnnotatedTask[]> {
    const tasks: AnnotatedTask[] = [];
    for (const row of this.#training.iterate(project)) {
      let last = tasks.at(-1);
      if (last?.id !== row.task_id) {
        last = { id: row.task_id, data: JSON.parse(row.data_json) as Record<string, unknown>, annotations: [] };
        tasks.push(last);
      }
      last.annotations.push(JSON.parse(row.json) as Annotation);
    }
    return tasks;
  }

  /** usable + cancelled + missingTaskData = every stored annotation; `tasks` = tasks training sees. */
  async counts(project: string): Promise<AnnotationCounts> {
    return this.#counts.get(project) ?? { usable: 0, cancelled: 0, missingTaskData: 0, tasks: 0 };
  }

  #putOne(project: string, annotation: Annotation, taskId: number, now: string): void {
    const id = assertId(annotation?.id, 'Annotation id');
    this.#putAnnotation.run(project, id, assertId(taskId, 'Task id'), JSON.stringify(annotation), isUnusable(annotation) ? 1 : 0, now);
  }
}
