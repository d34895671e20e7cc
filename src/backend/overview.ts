/**
 * The /ui page's view of the backend (contract C3): per project its label config, annotation
 * counts, versions with their metrics, and its running, pending and recent training jobs.
 * Read-only; built from the stores and the job queue on every call (the page polls it).
 */
import { XMLParser } from 'fast-xml-parser';
import type { JobRecord, JsonObject, ProjectOverview } from '../types.js';
import type { AnnotationCounts, CheckpointInfo } from '../store/types.js';
import { parseLabelConfig } from '../model/label-config.js';

/** What the overview reads; MLBackend hands it its stores and queue. */
export interface OverviewSources {
  projects(): Promise<string[]>;
  versions(project: string): Promise<CheckpointInfo[]>;
  servedVersion(project: string): Promise<string>;
  labelConfig(project: string): string;
  annotationCounts(project: string): AnnotationCounts;
  activeJobs(project: string): { running?: JobRecord; pending?: JobRecord };
  /** Newest first. */
  recentJobs(project: string, limit: number): JobRecord[];
}

type Control = ProjectOverview['labelConfig']['controls'][number];
type VersionEntry = ProjectOverview['versions'][number];

/** Finished jobs listed per project. */
export const RECENT_JOBS = 10;

export async function buildOverview(sources: OverviewSources): Promise<ProjectOverview[]> {
  const projects = await sources.projects();
  return Promise.all(projects.map((project) => projectOverview(sources, project)));
}

async function projectOverview(sources: OverviewSources, project: string): Promise<ProjectOverview> {
  const [infos, currentVersion] = await Promise.all([sources.versions(project), sources.servedVersion(project)]);
  const raw = sources.labelConfig(project);
  const { usable, cancelled, tasks } = sources.annotationCounts(project);
  const { running, pending } = sources.activeJobs(project);
  const live = new Set([running?.id, pending?.id]);
  // Past jobs' histories are left out (the page polls this every second); /job_status has them.
  const recent = sources
    .recentJobs(project, RECENT_JOBS + 2)
    .filter((job) => !live.has(job.id))
    .slice(0, RECENT_JOBS)
    .map(({ history: _history, ...job }) => job);
  return {
    project,
    labelConfig: { controls: controlsOf(raw), raw },
    annotations: { usable, cancelled, tasks },
    currentVersion,
    versions: infos.map((info) => versionEntry(info, currentVersion)),
    jobs: { ...(running ? { running } : {}), ...(pending ? { pending } : {}), recent },
  };
}

function versionEntry(info: CheckpointInfo, currentVersion: string): VersionEntry {
  const job = info.job;
  const entry: VersionEntry = { version: info.version, createdAt: info.createdAt, current: info.version === currentVersion, summary: scalars(info.trainOutput) };
  if (info.corrupt !== undefined) entry.corrupt = info.corrupt;
  if (job?.annotationCount !== undefined) entry.annotationCount = job.annotationCount;
  if (job?.metrics) entry.metrics = job.metrics;
  // job.json is written when the checkpoint is promoted, before the queue stamps durationMs.
  const durationMs = job?.durationMs ?? elapsedMs(job?.startedAt, job?.finishedAt);
  if (durationMs !== undefined) entry.durationMs = durationMs;
  return entry;
}

/** The scalar top-level fields of train_output (embedder, samples, epochs ...). */
function scalars(trainOutput: JsonObject | null): Record<string, string | number | boolean> {
  const summary: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(trainOutput ?? {})) {
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) summary[key] = value;
  }
  return summary;
}

function elapsedMs(start: string | undefined, end: string | undefined): number | undefined {
  if (start === undefined || end === undefined) return undefined;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The controls of a label config; none when the config is missing or not valid. */
export function controlsOf(raw: string): Control[] {
  if (raw.trim() === '') return [];
  let parsed;
  try {
    parsed = parseLabelConfig(raw);
  } catch {
    return [];
  }
  const attributes = controlAttributes(raw);
  return Object.entries(parsed).map(([name, control]) => ({
    name,
    type: control.type,
    toName: control.to_name,
    labels: control.labels,
    attributes: attributes.get(name) ?? {},
  }));
}

const ATTRS = ':@';
const xml = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, processEntities: true, maxNestedTags: 256 });

/**
 * Every XML attribute of each named element (the parsed config keeps only what the Python SDK
 * does); the first element of a name wins, as in the parsed config.
 */
function controlAttributes(raw: string): Map<string, Record<string, string>> {
  const found = new Map<string, Record<string, string>>();
  const walk = (nodes: unknown): void => {
    if (!Array.isArray(nodes)) return;
    for (const node of nodes as Array<Record<string, unknown>>) {
      const attrs = node[ATTRS] as Record<string, unknown> | undefined;
      const name = attrs?.name;
      if (typeof name === 'string' && !found.has(name)) {
        found.set(name, Object.fromEntries(Object.entries(attrs ?? {}).map(([key, value]) => [key, String(value)])));
      }
      for (const [key, children] of Object.entries(node)) if (key !== ATTRS) walk(children);
    }
  };
  walk(xml.parse(raw));
  return found;
}
