/**
 * Reads the annotation facts out of Label Studio's webhook payloads, old and new: a single
 * `annotation` (ANNOTATION_CREATED/UPDATED), a list (ANNOTATIONS_CREATED), `annotations: [{id}]`
 * (ANNOTATIONS_DELETED); task data from `task`/`tasks` when newer LS sends it.
 */
import type { AnnotatedTask, Annotation } from '../types.js';
import type { AnnotationInput } from '../store/types.js';
import { badRequest } from '../errors.js';

type Obj = Record<string, unknown>;

const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);

/** Annotation events that change the training data. */
export const ANNOTATION_EVENTS = new Set(['ANNOTATION_CREATED', 'ANNOTATIONS_CREATED', 'ANNOTATION_UPDATED']);
export const DELETE_EVENTS = new Set(['ANNOTATIONS_DELETED', 'ANNOTATION_DELETED']);

function idOf(value: unknown, field: string): number {
  const id = isObject(value) ? value.id : value;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  if (typeof id === 'string' && /^\d{1,15}$/.test(id)) return Number(id);
  throw badRequest(`${field} must be an integer id`, { field });
}

/** Annotations to store from a created/updated event. */
export function annotationsFromPayload(payload: Obj): AnnotationInput[] {
  const raw = payload.annotation ?? payload.annotations;
  const items = asList(raw);
  if (items.length === 0) throw badRequest('annotation is required for this event', { field: 'annotation' });
  const taskData = new Map<number, Obj>();
  for (const task of [...asList(payload.task), ...asList(payload.tasks)]) {
    if (isObject(task) && isObject(task.data) && task.id !== undefined) taskData.set(idOf(task, 'task.id'), task.data);
  }
  return items.map((item, index) => {
    const field = Array.isArray(raw) ? `annotation[${index}]` : 'annotation';
    if (!isObject(item)) throw badRequest(`${field} must be an object`, { field });
    const id = idOf(item.id, `${field}.id`);
    if (item.result !== undefined && !Array.isArray(item.result)) throw badRequest(`${field}.result must be an array`, { field: `${field}.result` });
    const taskRef = item.task ?? (isObject(payload.task) ? payload.task.id : undefined);
    if (taskRef === undefined) throw badRequest(`${field}.task is required (the task id)`, { field: `${field}.task` });
    const taskId = idOf(taskRef, `${field}.task`);
    const data = taskData.get(taskId) ?? (isObject(item.task) && isObject(item.task.data) ? item.task.data : undefined);
    const annotation = { ...item, id, task: taskId, result: (item.result as Annotation['result'] | undefined) ?? [] } as Annotation;
    return data ? { annotation, taskId, taskData: data } : { annotation, taskId };
  });
}

/** Annotation ids from a delete event. */
export function deletedAnnotationIds(payload: Obj): number[] {
  const items = asList(payload.annotations ?? payload.annotation);
  return items.map((item, index) => idOf(item, `annotations[${index}].id`));
}

/** Exported tasks (legacy /train body, LS export) as annotation inputs. */
export function annotationsFromTasks(tasks: AnnotatedTask[]): AnnotationInput[] {
  return tasks.flatMap((task) =>
    (task.annotations ?? []).map((annotation) => ({ annotation: { ...annotation, task: task.id }, taskId: task.id, taskData: task.data })),
  );
}
