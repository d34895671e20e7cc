/**
 * A task's text: `data[<value>]` (or `$undefined$`). Label Studio uploads and URLs are fetched
 * with LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY; the token only ever goes to the Label Studio host.
 */
import { LabelStudioClient, getTaskText, isPreloadNeeded, type Task } from '../../src/index.js';

let client: LabelStudioClient | undefined;

function labelStudio(): LabelStudioClient {
  client ??= new LabelStudioClient({
    url: process.env.LABEL_STUDIO_URL ?? process.env.LABEL_STUDIO_HOST,
    apiKey: process.env.LABEL_STUDIO_API_KEY ?? process.env.LABEL_STUDIO_ACCESS_TOKEN,
  });
  return client;
}

/** Missing or non-text values read as "" (they still get a prediction). */
export async function readTaskText(task: Pick<Task, 'data' | 'id'>, valueKey: string): Promise<string> {
  return resolveText(getTaskText(task, valueKey) ?? '', typeof task.id === 'number' ? task.id : undefined);
}

/** The text itself, or the content of the Label Studio upload/URL it names. */
export async function resolveText(value: string, taskId?: number): Promise<string> {
  return isPreloadNeeded(value) ? labelStudio().fetchText(value, taskId) : value;
}
