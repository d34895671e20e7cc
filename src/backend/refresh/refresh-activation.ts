/**
 * After every unlabelled task carries the new version, Label Studio is told to use it, and this
 * backend's older versions are removed (README, "Prediction refresh"):
 *
 * - `project.model_version` is set to the version itself (PATCH), not left on an ML backend's
 *   title: the Data Manager's "Prediction score" and the label stream read predictions of exactly
 *   `project.model_version` (a title resolves to the backend's version only in recent Label
 *   Studio releases). It is switched once, when the refresh is complete, so the score column never
 *   mixes versions. PATCH is refused (400) while no prediction of the version exists.
 * - Then (PREDICTION_REFRESH_OLD_VERSIONS=delete) the predictions of older versions *this backend*
 *   made are deleted (DELETE model-versions); versions of other models and imports stay. Deleting
 *   only after the switch keeps Label Studio from nulling `project.model_version`.
 */
import { LabelStudioApiError } from '../../errors.js';
import type { LabelStudioApi } from '../../io/label-studio-api.js';
import type { LabelStudioPacer } from './ls-pacer.js';

export async function activateVersion(api: LabelStudioApi, pacer: LabelStudioPacer, project: string, version: string, signal: AbortSignal): Promise<boolean> {
  const current = await pacer.run(() => api.project(project, signal), { signal });
  if (current.model_version === version) return true;
  try {
    await pacer.run(() => api.updateProject(project, { model_version: version }, signal), { signal });
    return true;
  } catch (error) {
    if (error instanceof LabelStudioApiError && error.kind === 'bad_request') return false;
    throw error;
  }
}

/** Deletes the predictions of `ours` versions other than `keep`; returns the versions deleted. */
export async function deleteOlderVersions(
  api: LabelStudioApi,
  pacer: LabelStudioPacer,
  project: string,
  keep: string,
  ours: ReadonlySet<string>,
  signal: AbortSignal,
): Promise<string[]> {
  const counts = await pacer.run(() => api.modelVersions(project, signal), { signal });
  const deleted: string[] = [];
  for (const version of Object.keys(counts)) {
    if (version === keep || !ours.has(version)) continue;
    await pacer.run(() => api.deleteModelVersion(project, version, signal), { signal });
    deleted.push(version);
  }
  return deleted;
}
