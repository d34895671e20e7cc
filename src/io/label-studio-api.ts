/**
 * The Label Studio REST calls the backend makes (LS-API.md): projects, the Data Manager task list
 * with its filters, bulk prediction import, model versions, webhooks and ML backends. Shapes are
 * read defensively: only the fields used here are typed.
 */
import { LabelStudioApiError } from '../errors.js';
import { isObject } from '../util/json.js';
import type { LabelStudioConnection } from './ls-connection.js';

export interface LsProject {
  id: number;
  title: string;
  label_config: string;
  /** A prediction version, an ML backend's title, '' or null (LS-API.md §3). */
  model_version: string | null;
  show_collab_predictions?: boolean;
  evaluate_predictions_automatically?: boolean;
  task_number?: number;
}

export interface LsTask {
  id: number;
  data: Record<string, unknown>;
  total_annotations?: number;
  predictions?: Array<{ model_version?: string }>;
}

export interface LsTaskPage {
  total: number;
  tasks: LsTask[];
}

/** One prediction for the bulk import. */
export interface LsPrediction {
  task: number;
  result: unknown[];
  score?: number;
  model_version: string;
}

export interface LsWebhook {
  id: number;
  project: number | null;
  url: string;
  is_active: boolean;
  send_for_all_actions: boolean;
  send_payload?: boolean;
  actions: string[];
  headers: Record<string, string>;
}

export interface LsMlBackend {
  id: number;
  project: number;
  url: string;
  title: string;
  state?: string;
  error_message?: string | null;
  auth_method?: string;
  basic_auth_user?: string | null;
  basic_auth_pass_is_set?: boolean;
  model_version?: string;
}

/** A Data Manager filter item (`filter:tasks:<field>`). */
export interface DmFilter {
  filter: string;
  operator: string;
  type: string;
  value: unknown;
}

/** The Data Manager query: filters joined by "and", ordering by id, optionally only some ids. */
export function dmQuery(filters: DmFilter[], included?: number[]): string {
  return JSON.stringify({
    filters: { conjunction: 'and', items: filters },
    ordering: ['tasks:id'],
    selectedItems: included ? { all: false, included } : { all: true, excluded: [] },
  });
}

/** Filters of the refresh's task list. */
export const dmFilters = {
  unlabelled: (): DmFilter => ({ filter: 'filter:tasks:total_annotations', operator: 'equal', type: 'Number', value: 0 }),
  idAbove: (id: number): DmFilter => ({ filter: 'filter:tasks:id', operator: 'greater', type: 'Number', value: id }),
  /** `value` is a list: Label Studio iterates it (a string would be split into characters). */
  hasVersion: (version: string): DmFilter => ({ filter: 'filter:tasks:predictions_model_versions', operator: 'contains', type: 'List', value: [version] }),
  lacksVersion: (version: string): DmFilter => ({ filter: 'filter:tasks:predictions_model_versions', operator: 'not_contains', type: 'List', value: [version] }),
};

export class LabelStudioApi {
  constructor(readonly connection: LabelStudioConnection) {}

  /** Label Studio answers at all (`GET /health/`, no key needed). */
  async health(signal?: AbortSignal): Promise<void> {
    await this.connection.bytes('/health/', { signal });
  }

  /** Who the key belongs to. */
  async whoAmI(signal?: AbortSignal): Promise<{ id: number; email?: string; username?: string }> {
    return this.connection.json('/api/current-user/whoami', { signal });
  }

  async project(id: number | string, signal?: AbortSignal): Promise<LsProject> {
    const body = await this.connection.json(`/api/projects/${encodeURIComponent(String(id))}`, { signal });
    if (!isObject(body) || typeof body['id'] !== 'number') throw new LabelStudioApiError('invalid_response', `Label Studio GET /api/projects/${id}: not a project`);
    return body as unknown as LsProject;
  }

  async updateProject(id: number | string, patch: Partial<LsProject>, signal?: AbortSignal): Promise<LsProject> {
    return this.connection.json(`/api/projects/${encodeURIComponent(String(id))}`, { method: 'PATCH', body: patch, signal });
  }

  /** One page of the Data Manager task list; a page past the end (404 "Invalid page.") is empty. */
  async tasks(project: number | string, options: { page?: number; pageSize: number; query?: string; allFields?: boolean; signal?: AbortSignal }): Promise<LsTaskPage> {
    let body: unknown;
    try {
      body = await this.connection.json('/api/tasks', {
        query: { project: String(project), page: options.page ?? 1, page_size: options.pageSize, query: options.query, fields: options.allFields ? 'all' : undefined },
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof LabelStudioApiError && error.kind === 'not_found' && (options.page ?? 1) > 1) return { total: 0, tasks: [] };
      throw error;
    }
    if (!isObject(body) || !Array.isArray(body['tasks'])) throw new LabelStudioApiError('invalid_response', 'Label Studio GET /api/tasks: no "tasks" list in the answer');
    const tasks = (body['tasks'] as unknown[]).filter((task): task is LsTask => isObject(task) && typeof task['id'] === 'number');
    return { total: typeof body['total'] === 'number' ? body['total'] : tasks.length, tasks };
  }

  /** Bulk import; Label Studio answers `{"created": N}` without ids. */
  async importPredictions(project: number | string, predictions: LsPrediction[], signal?: AbortSignal): Promise<number> {
    const body = await this.connection.json(`/api/projects/${encodeURIComponent(String(project))}/import/predictions`, { method: 'POST', body: predictions, signal });
    return isObject(body) && typeof body['created'] === 'number' ? body['created'] : predictions.length;
  }

  /** `{version: prediction count}`. */
  async modelVersions(project: number | string, signal?: AbortSignal): Promise<Record<string, number>> {
    const body = await this.connection.json(`/api/projects/${encodeURIComponent(String(project))}/model-versions`, { signal });
    if (!isObject(body)) return {};
    return Object.fromEntries(Object.entries(body).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
  }

  /** Deletes every prediction of one version in the project; returns how many. */
  async deleteModelVersion(project: number | string, version: string, signal?: AbortSignal): Promise<number> {
    const body = await this.connection.json(`/api/projects/${encodeURIComponent(String(project))}/model-versions`, { method: 'DELETE', body: { model_version: version }, signal });
    return isObject(body) && typeof body['deleted_predictions'] === 'number' ? body['deleted_predictions'] : 0;
  }

  async webhooks(project: number | string, signal?: AbortSignal): Promise<LsWebhook[]> {
    const body = await this.connection.json('/api/webhooks', { query: { project: String(project) }, signal });
    return Array.isArray(body) ? (body.filter(isObject) as unknown as LsWebhook[]) : [];
  }

  /** Note: Label Studio first calls every listed backend's /health and /setup (LS-API.md §7). */
  async mlBackends(project: number | string, signal?: AbortSignal): Promise<LsMlBackend[]> {
    const body = await this.connection.json('/api/ml', { query: { project: String(project) }, signal });
    return Array.isArray(body) ? (body.filter(isObject) as unknown as LsMlBackend[]) : [];
  }
}
