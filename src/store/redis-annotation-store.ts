/**
 * Every project's annotations and task data in Redis (distributed mode), so a webhook that lands
 * on any replica counts for the training that runs on any trainer. Per project one hash of task
 * data (task id → data) and one of annotations (annotation id → {task, cancelled, annotation}).
 * Each call is one MULTI transaction: it applies whole or not at all, as in the SQLite store.
 */
import type { AnnotatedTask, Annotation } from '../types.js';
import { assertId, isUnusable } from './annotation-store.js';
import { execAll, guarded, type Redis, type RedisKeys } from './redis-connection.js';
import type { AnnotationCounts, AnnotationInput, AnnotationStore } from './types.js';

interface StoredAnnotation {
  task: number;
  cancelled: boolean;
  annotation: Annotation;
}

export class RedisAnnotationStore implements AnnotationStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async upsert(project: string, items: AnnotationInput[]): Promise<void> {
    const tasks: string[] = [];
    const annotations: string[] = [];
    for (const { annotation, taskId, taskData } of items) {
      // Without task data the stored data (if any) is kept: webhooks often omit it.
      if (taskData !== undefined) tasks.push(String(assertId(taskId, 'Task id')), JSON.stringify(taskData));
      annotations.push(...this.#entry(annotation, taskId));
    }
    if (annotations.length === 0) return;
    await guarded('storing annotations', async () => {
      const multi = this.redis.multi();
      if (tasks.length > 0) multi.hset(this.keys.tasks(project), ...tasks);
      multi.hset(this.keys.annotations(project), ...annotations);
      await execAll(multi);
    });
  }

  async remove(project: string, annotationIds: number[]): Promise<number> {
    if (annotationIds.length === 0) return 0;
    return guarded('removing annotations', () => this.redis.hdel(this.keys.annotations(project), ...annotationIds.map(String)));
  }

  async replaceAll(project: string, tasks: AnnotatedTask[]): Promise<void> {
    const taskFields: string[] = [];
    const annotations: string[] = [];
    for (const task of tasks) {
      taskFields.push(String(assertId(task.id, 'Task id')), JSON.stringify(task.data ?? {}));
      for (const annotation of task.annotations ?? []) annotations.push(...this.#entry(annotation, task.id));
    }
    await guarded('replacing annotations', async () => {
      const multi = this.redis.multi().del(this.keys.tasks(project), this.keys.annotations(project));
      if (taskFields.length > 0) multi.hset(this.keys.tasks(project), ...taskFields);
      if (annotations.length > 0) multi.hset(this.keys.annotations(project), ...annotations);
      await execAll(multi);
    });
  }

  async trainingSet(project: string): Promise<AnnotatedTask[]> {
    const { data, annotations } = await this.#read(project);
    const byTask = new Map<number, AnnotatedTask>();
    const kept = annotations.filter((stored) => !stored.cancelled && data.has(stored.task));
    kept.sort((a, b) => a.task - b.task || a.annotation.id - b.annotation.id);
    for (const { task, annotation } of kept) {
      let entry = byTask.get(task);
      if (!entry) byTask.set(task, (entry = { id: task, data: data.get(task) as Record<string, unknown>, annotations: [] }));
      entry.annotations.push(annotation);
    }
    return [...byTask.values()];
  }

  /** usable + cancelled + missingTaskData = every stored annotation; `tasks` = tasks training sees. */
  async counts(project: string): Promise<AnnotationCounts> {
    const { data, annotations } = await this.#read(project);
    const counts: AnnotationCounts = { usable: 0, cancelled: 0, missingTaskData: 0, tasks: 0 };
    const tasks = new Set<number>();
    for (const stored of annotations) {
      if (stored.cancelled) counts.cancelled++;
      else if (!data.has(stored.task)) counts.missingTaskData++;
      else {
        counts.usable++;
        tasks.add(stored.task);
      }
    }
    counts.tasks = tasks.size;
    return counts;
  }

  /** The field and value of one annotation; throws (before anything is written) on a bad id. */
  #entry(annotation: Annotation, taskId: number): [string, string] {
    const id = assertId(annotation?.id, 'Annotation id');
    const stored: StoredAnnotation = { task: assertId(taskId, 'Task id'), cancelled: isUnusable(annotation), annotation };
    return [String(id), JSON.stringify(stored)];
  }

  async #read(project: string): Promise<{ data: Map<number, unknown>; annotations: StoredAnnotation[] }> {
    const [tasks, annotations] = (await guarded('reading annotations', () =>
      execAll(this.redis.multi().hgetall(this.keys.tasks(project)).hgetall(this.keys.annotations(project))),
    )) as Array<Record<string, string>>;
    const data = new Map<number, unknown>(Object.entries(tasks ?? {}).map(([id, text]) => [Number(id), JSON.parse(text)]));
    return { data, annotations: Object.values(annotations ?? {}).map((text) => JSON.parse(text) as StoredAnnotation) };
  }
}
