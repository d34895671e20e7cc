/** The JSON /versions answers (every version of each project, the current one marked) and the served versions /metrics shows. */
import type { JsonObject, PredictionRefreshStatus } from '../types.js';
import type { CheckpointInfo } from '../store/types.js';
import { INITIAL_VERSION } from './trainer.js';

export interface ProjectVersions {
  project: string;
  current: string;
  list: CheckpointInfo[];
  /** The latest prediction refresh into Label Studio (progress, errors), when there is one. */
  refresh?: PredictionRefreshStatus | undefined;
}

export function versionsJson(projects: ProjectVersions[]): JsonObject {
  const perProject: JsonObject = {};
  const all = new Set<string>();
  for (const { project, current, list, refresh } of projects) {
    for (const info of list) if (!info.corrupt) all.add(info.version);
    perProject[project] = {
      current_version: current,
      versions: list.map((info) => ({
        version: info.version,
        created_at: info.createdAt,
        current: info.version === current,
        size_bytes: info.sizeBytes,
        ...(info.corrupt !== undefined && { corrupt: info.corrupt }),
        ...(info.job?.annotationCount !== undefined && { annotation_count: info.job.annotationCount }),
        ...(info.job?.metrics && { metrics: info.job.metrics }),
      })),
      ...(refresh && { prediction_refresh: refresh }),
    };
  }
  const single = projects.length === 1 ? projects[0] : undefined;
  return {
    versions: [...all].sort(),
    ...(single && { current_version: single.current || INITIAL_VERSION }),
    projects: perProject,
  };
}

/** The version each project serves; a project that cannot be read is left out (its own requests report the error). */
export async function servedVersionsOf(projects: string[], currentVersion: (project: string) => Promise<string>): Promise<Array<{ project: string; version: string }>> {
  const served: Array<{ project: string; version: string }> = [];
  for (const project of projects) {
    try {
      served.push({ project, version: await currentVersion(project) });
    } catch {
      // One unreadable project must not break a scrape.
    }
  }
  return served;
}
