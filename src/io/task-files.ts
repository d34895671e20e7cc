/**
 * Task files for models: a task value that names a Label Studio upload, a cloud-storage file or
 * a URL is downloaded with the server's Label Studio credentials (LABEL_STUDIO_URL / _API_KEY);
 * anything else is the text itself. Models reach this through `readTaskText`/`resolveText` on
 * LabelStudioMLBase, so none of them reads those variables itself.
 */
import type { TaskFiles } from '../model/base.js';
import { isPreloadNeeded } from '../model/task-data.js';
import { LabelStudioClient } from './label-studio-client.js';

export interface LabelStudioAccess {
  labelStudioUrl: string | undefined;
  labelStudioApiKey: string | undefined;
  /** TASK_URL_ORIGINS (see ./fetch-policy.ts). */
  taskUrlOrigins?: readonly string[] | undefined;
}

export function labelStudioTaskFiles(access: LabelStudioAccess | LabelStudioClient): TaskFiles {
  let client = access instanceof LabelStudioClient ? access : undefined;
  return {
    resolveText(value, taskId) {
      if (!isPreloadNeeded(value)) return Promise.resolve(value);
      // Built on first use: a config without Label Studio serves plain text without complaint.
      const { labelStudioUrl, labelStudioApiKey, taskUrlOrigins } = access as LabelStudioAccess;
      client ??= new LabelStudioClient({ url: labelStudioUrl, apiKey: labelStudioApiKey, allowedOrigins: taskUrlOrigins });
      return client.fetchText(value, taskId);
    },
  };
}
