/**
 * Label Studio's webhooks: the annotation facts read out of payloads old and new (a single
 * `annotation` for ANNOTATION_CREATED/UPDATED, a list for ANNOTATIONS_CREATED, `annotations: [{id}]`
 * for ANNOTATIONS_DELETED; task data from `task`/`tasks` when newer LS sends it), stored at once,
 * and training queued when the event (or the TRAIN_EVERY_N_ANNOTATIONS policy) asks for it.
 */
import type { AnnotatedTask, Annotation, JsonObject } from '../types.js';
import type { AnnotationInput, AnnotationStore } from '../store/types.js';
import { normalizeProjectId } from '../store/safe-names.js';
import { badRequest, isMlBackendError, shuttingDown } from '../errors.js';
import { isObject } from '../util/json.js';
import type { JobQueue } from './job-queue.js';
import { labelConfigIn, type ProjectSettings } from './project-settings.js';
import type { TrainPolicy } from './train-policy.js';

type Obj = Record<string, unknown>;

export interface WebhookReply {
  status: number;
  body: JsonObject;
}

export interface WebhookDeps {
  settings: ProjectSettings;
  annotations: AnnotationStore;
  policy: TrainPolicy;
  queue: JobQueue;
}
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

/** Stores what the event says and answers at once; training runs as a job. */
export async function receiveWebhook(body: Obj, { settings, annotations, policy, queue }: WebhookDeps): Promise<WebhookReply> {
  const action = body.action as string;
  const isTrain = action === 'START_TRAINING';
  const isAnnotation = ANNOTATION_EVENTS.has(action);
  const isDelete = DELETE_EVENTS.has(action);
  if (!isTrain && !isAnnotation && !isDelete) return { status: 200, body: { status: 'Unknown event' } };

  const project = normalizeProjectId((body.project as Obj).id);
  const carried = labelConfigIn(body);
  if (carried !== undefined) await settings.rememberLabelConfig(project, carried);
  const data = { ...body } as JsonObject;
  delete data.action;

  let changed = 0;
  if (isAnnotation) {
    const items = annotationsFromPayload(body);
    await annotations.upsert(project, items);
    changed = items.length;
  } else if (isDelete) {
    changed = await annotations.remove(project, deletedAnnotationIds(body));
  }
  const train = isTrain || (await policy.onAnnotationEvents(project, Math.max(changed, isDelete ? 0 : 1)));
  if (!train) return { status: 201, body: { status: 'ok', result: { stored: changed, training: false } } };
  if (isTrain) await policy.reset(project);
  const job = await queue.enqueue('train', project, { event: action, data, immediate: isTrain, refreshAnnotations: isTrain }).catch((error: unknown) => {
    const stored = isMlBackendError(error) && error.code === 'MLB_ERR_SHUTTING_DOWN' && changed > 0;
    throw stored ? shuttingDown('the annotations were stored, but no training is queued') : error;
  });
  return { status: 201, body: { status: 'ok', job: job.id, job_id: job.id, result: { stored: changed, training: true, job: job.id } } };
}
