/**
 * The data of the Label Studio stand-in: projects, tasks with annotations and predictions,
 * webhooks, ML backends, and the Data Manager's task query (filters, selected items, id order)
 * as LS-API.md §2 and Label Studio's data_manager/managers.py describe it.
 */

export interface SiPrediction {
  id: number;
  task: number;
  project: number;
  result: unknown[];
  score: number | null;
  model_version: string;
  created_at: string;
}

export interface SiAnnotation {
  id: number;
  task: number;
  project: number;
  result: unknown[];
  was_cancelled: boolean;
}

export interface SiTask {
  id: number;
  project: number;
  data: Record<string, unknown>;
  annotations: SiAnnotation[];
  predictions: SiPrediction[];
}

export interface SiProject {
  id: number;
  title: string;
  label_config: string;
  model_version: string | null;
  show_collab_predictions: boolean;
  evaluate_predictions_automatically: boolean;
}

export interface SiWebhook {
  id: number;
  project: number | null;
  url: string;
  is_active: boolean;
  send_payload: boolean;
  send_for_all_actions: boolean;
  actions: string[];
  headers: Record<string, string>;
}

export interface SiMlBackend {
  id: number;
  project: number;
  url: string;
  title: string;
  state: string;
  error_message: string | null;
  auth_method: 'NONE' | 'BASIC_AUTH';
  basic_auth_user: string | null;
  basic_auth_pass: string | null;
  model_version: string;
}

interface DmItem {
  filter?: unknown;
  operator?: unknown;
  value?: unknown;
}

/** A Data Manager query: `{filters: {conjunction, items}, selectedItems, ordering}`. */
export interface DmQuery {
  filters?: { conjunction?: string; items?: DmItem[] };
  selectedItems?: { all?: boolean; included?: number[]; excluded?: number[] };
  ordering?: string[];
}

export class StandInData {
  readonly projects = new Map<number, SiProject>();
  readonly tasks = new Map<number, SiTask>();
  readonly webhooks: SiWebhook[] = [];
  readonly mlBackends: SiMlBackend[] = [];
  #ids = { project: 0, task: 0, annotation: 0, prediction: 0, webhook: 0, ml: 0 };

  addProject(init: Partial<SiProject> & { label_config: string }): SiProject {
    const id = init.id ?? ++this.#ids.project;
    this.#ids.project = Math.max(this.#ids.project, id);
    const project: SiProject = { title: `Project ${id}`, model_version: '', show_collab_predictions: true, evaluate_predictions_automatically: false, ...init, id };
    this.projects.set(id, project);
    return project;
  }

  addTasks(project: number, datas: Array<Record<string, unknown>>): SiTask[] {
    return datas.map((data) => {
      const task: SiTask = { id: ++this.#ids.task, project, data, annotations: [], predictions: [] };
      this.tasks.set(task.id, task);
      return task;
    });
  }

  addAnnotation(taskId: number, result: unknown[]): SiAnnotation {
    const task = this.#task(taskId);
    const annotation: SiAnnotation = { id: ++this.#ids.annotation, task: taskId, project: task.project, result, was_cancelled: false };
    task.annotations.push(annotation);
    return annotation;
  }

  addPrediction(taskId: number, fields: { result: unknown[]; score?: number | null; model_version?: string }): SiPrediction {
    const task = this.#task(taskId);
    const prediction: SiPrediction = {
      id: ++this.#ids.prediction,
      task: taskId,
      project: task.project,
      result: fields.result,
      score: fields.score ?? null,
      model_version: fields.model_version ?? 'undefined',
      created_at: new Date().toISOString(),
    };
    task.predictions.push(prediction);
    return prediction;
  }

  addWebhook(init: Partial<SiWebhook> & { url: string; project: number | null }): SiWebhook {
    const webhook: SiWebhook = { id: ++this.#ids.webhook, is_active: true, send_payload: true, send_for_all_actions: true, actions: [], headers: {}, ...init };
    this.webhooks.push(webhook);
    return webhook;
  }

  addMlBackend(init: Partial<SiMlBackend> & { url: string; project: number }): SiMlBackend {
    const backend: SiMlBackend = {
      id: ++this.#ids.ml, title: 'ML backend', state: 'DI', error_message: null, auth_method: 'NONE',
      basic_auth_user: null, basic_auth_pass: null, model_version: '', ...init,
    };
    this.mlBackends.push(backend);
    return backend;
  }

  projectTasks(project: number): SiTask[] {
    return [...this.tasks.values()].filter((task) => task.project === project);
  }

  /** Non-cancelled annotations, as `total_annotations` counts them. */
  static totalAnnotations(task: SiTask): number {
    return task.annotations.filter((a) => !a.was_cancelled).length;
  }

  /** The tasks a Data Manager query selects, ordered by id. Throws on what it does not implement. */
  query(project: number, query: DmQuery): SiTask[] {
    let tasks = this.projectTasks(project).sort((a, b) => a.id - b.id);
    const conjunction = query.filters?.conjunction ?? 'and';
    if (conjunction !== 'and') throw new Error(`stand-in: conjunction ${conjunction} not implemented`);
    for (const item of query.filters?.items ?? []) tasks = tasks.filter(matcher(item));
    const selected = query.selectedItems;
    if (selected && selected.all === false && selected.included) {
      const included = new Set(selected.included);
      tasks = tasks.filter((task) => included.has(task.id));
    } else if (selected?.all && selected.excluded?.length) {
      const excluded = new Set(selected.excluded);
      tasks = tasks.filter((task) => !excluded.has(task.id));
    }
    const ordering = query.ordering?.[0];
    if (ordering !== undefined && ordering !== 'tasks:id' && ordering !== 'id') throw new Error(`stand-in: ordering ${ordering} not implemented`);
    return tasks;
  }

  #task(id: number): SiTask {
    const task = this.tasks.get(id);
    if (!task) throw new Error(`stand-in: no task ${id}`);
    return task;
  }
}

/** The filters Label Studio applies (data_manager/managers.py apply_filters), for the fields the backend uses. */
function matcher(item: DmItem): (task: SiTask) => boolean {
  const field = String(item.filter).replace(/^filter:tasks:/, '');
  const operator = String(item.operator);
  if (field === 'predictions_model_versions') {
    // Label Studio iterates the value: a list of versions, each a substring match.
    if (!Array.isArray(item.value)) throw new Error('stand-in: predictions_model_versions needs a list value');
    const values = item.value.map(String);
    const has = (task: SiTask, v: string) => task.predictions.some((p) => p.model_version.includes(v));
    if (operator === 'contains') return (task) => values.some((v) => has(task, v));
    if (operator === 'not_contains') return (task) => values.every((v) => !has(task, v));
    throw new Error(`stand-in: operator ${operator} on ${field} not implemented`);
  }
  const read = (task: SiTask): number =>
    field === 'id' ? task.id
      : field === 'total_annotations' ? StandInData.totalAnnotations(task)
        : field === 'total_predictions' ? task.predictions.length
          : NaN;
  if (['id', 'total_annotations', 'total_predictions'].includes(field)) {
    const value = Number(item.value);
    if (operator === 'equal') return (task) => read(task) === value;
    if (operator === 'not_equal') return (task) => read(task) !== value;
    if (operator === 'greater') return (task) => read(task) > value;
    if (operator === 'less') return (task) => read(task) < value;
    if (operator === 'greater_or_equal') return (task) => read(task) >= value;
    if (operator === 'less_or_equal') return (task) => read(task) <= value;
  }
  throw new Error(`stand-in: filter ${field} ${operator} not implemented`);
}
