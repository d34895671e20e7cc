/**
 * The /ui page's view of the backend (contract C3): per project its label config, annotation
 * counts, versions with their metrics, its running, pending and recent training jobs, and its
 * prediction refresh into Label Studio. Read-only; built from the MLBackend façade on every call
 * (the page polls it).
 */
import type { JobKind, JobRecord, JsonObject, PredictionRefreshStatus, ProjectOverview } from '../types.js';
import type { AnnotationCounts, CheckpointInfo } from '../store/types.js';
import { LabelInterface } from '../model/label-config.js';

/** What the overview reads: a subset of MLBackend's public methods. */
export interface OverviewSources {
  projects(): Promise<string[]>;
  versionList(project: string): Promise<{ current: string; list: CheckpointInfo[] }>;
  labelInterface(project: string): Promise<LabelInterface>;
  annotationCounts(project: string): Promise<AnnotationCounts>;
  activeJobs(project: string, kind?: JobKind): Promise<{ running?: JobRecord; pending?: JobRecord }>;
  /** Newest first, every kind. */
  jobs(project: string, limit: number): Promise<JobRecord[]>;
  predictionRefresh(project: string): Promise<PredictionRefreshStatus | undefined>;
}

type Control = ProjectOverview['labelConfig']['controls'][number];
type VersionEntry = ProjectOverview['versions'][number];

/** Finished training jobs listed per project. */
export const RECENT_JOBS = 10;
/** Job records read to find them: prediction refreshes (about one per training) come in between. */
const JOBS_READ = 4 * RECENT_JOBS;

export async function buildOverview(sources: OverviewSources): Promise<ProjectOverview[]> {
  const projects = await sources.projects();
  return Promise.all(projects.map((project) => projectOverview(sources, project)));
}

async function projectOverview(sources: OverviewSources, project: string): Promise<ProjectOverview> {
  const [{ current, list }, labels, counts, active, jobs, refresh] = await Promise.all([
    sources.versionList(project),
    sources.labelInterface(project).catch(() => LabelInterface.EMPTY),
    sources.annotationCounts(project),
    sources.activeJobs(project, 'train'),
    sources.jobs(project, JOBS_READ),
    predictionRefresh(sources, project),
  ]);
  const { running, pending } = active;
  const live = new Set([running?.id, pending?.id]);
  // Past jobs' histories are left out (the page polls this every second); /job_status has them.
  const recent = jobs
    .filter((job) => (job.kind ?? 'train') === 'train' && !live.has(job.id))
    .slice(0, RECENT_JOBS)
    .map(withoutHistory);
  return {
    project,
    labelConfig: { controls: controlsOf(labels), raw: labels.raw },
    annotations: { usable: counts.usable, cancelled: counts.cancelled, tasks: counts.tasks },
    currentVersion: current,
    versions: list.map((info) => versionEntry(info, current)),
    jobs: { ...(running ? { running } : {}), ...(pending ? { pending } : {}), recent },
    ...(refresh && { predictionRefresh: refresh }),
  };
}

/** The latest refresh and this process's refresh jobs (their histories left out); undefined when there is none. */
async function predictionRefresh(sources: OverviewSources, project: string): Promise<ProjectOverview['predictionRefresh']> {
  const [latest, { running, pending }] = await Promise.all([sources.predictionRefresh(project), sources.activeJobs(project, 'refresh-predictions')]);
  if (!latest && !running && !pending) return undefined;
  return { ...(latest && { latest }), ...(running && { running: withoutHistory(running) }), ...(pending && { pending: withoutHistory(pending) }) };
}

function withoutHistory({ history: _history, ...job }: JobRecord): JobRecord {
  return job;
}

function versionEntry(info: CheckpointInfo, currentVersion: string): VersionEntry {
  const job = info.job;
  const entry: VersionEntry = { version: info.version, createdAt: info.createdAt, current: info.version === currentVersion, summary: scalars(info.trainOutput) };
  if (info.corrupt !== undefined) entry.corrupt = info.corrupt;
  if (job?.annotationCount !== undefined) entry.annotationCount = job.annotationCount;
  if (job?.metrics) entry.metrics = job.metrics;
  // A checkpoint is promoted as its training ends: from the start to the checkpoint is the duration.
  const durationMs = job?.durationMs ?? elapsedMs(job?.startedAt, info.createdAt);
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

/** The controls of a label config, each with every attribute it was written with. */
export function controlsOf(labels: LabelInterface): Control[] {
  return labels.controls.map((control) => ({
    name: control.name,
    type: control.type,
    toName: [...control.toName],
    labels: [...control.labels],
    attributes: { ...control.attributes },
  }));
}
