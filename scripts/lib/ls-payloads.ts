/**
 * What Label Studio sends an ML backend, built for a text + one <Choices> project: the label
 * config, exported tasks (legacy /train, PROTOCOL §2.3) and webhook payloads (§2.4).
 */

export const FROM_NAME = 'label';
export const TO_NAME = 'text';
export const VALUE_KEY = 'text';

const escapeXml = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `<View><Text name="text" value="$text"/><Choices name="label" toName="text">…</Choices></View>`. */
export function choicesConfig(labels: readonly string[]): string {
  const choices = labels.map((label) => `<Choice value="${escapeXml(label)}"/>`).join('');
  return `<View><Text name="${TO_NAME}" value="$${VALUE_KEY}"/><Choices name="${FROM_NAME}" toName="${TO_NAME}" choice="single">${choices}</Choices></View>`;
}

export interface LabelledTask {
  taskId: number;
  annotationId: number;
  text: string;
  label: string;
}

export function choiceResult(label: string) {
  return [{ id: `r${label.length}`, from_name: FROM_NAME, to_name: TO_NAME, type: 'choices', origin: 'manual', value: { choices: [label] } }];
}

/** The project object of webhooks (ProjectWebhookSerializer's fields the backend reads, and a few more). */
export function projectObject(project: number, labelConfig: string, extra: Record<string, unknown> = {}) {
  return { id: project, title: `simulated project ${project}`, label_config: labelConfig, model_version: '', created_by: 1, organization: 1, ...extra };
}

/** One exported task with one annotation, as LS export and legacy /train carry it. */
export function exportedTask(project: number, item: LabelledTask) {
  const now = new Date().toISOString();
  return {
    id: item.taskId,
    data: { [VALUE_KEY]: item.text },
    project,
    annotations: [{ id: item.annotationId, completed_by: 1, was_cancelled: false, ground_truth: false, lead_time: 1, task: item.taskId, created_at: now, updated_at: now, result: choiceResult(item.label) }],
    predictions: [],
  };
}

/** Legacy POST /train body: {annotations: exported tasks, project, label_config}. */
export function legacyTrainBody(project: number, labelConfig: string, items: readonly LabelledTask[]) {
  return { annotations: items.map((item) => exportedTask(project, item)), project: String(project), label_config: labelConfig };
}

/** ANNOTATION_CREATED as newer Label Studio sends it: annotation + task + project. */
export function annotationCreated(project: number, labelConfig: string, item: LabelledTask) {
  const now = new Date().toISOString();
  return {
    action: 'ANNOTATION_CREATED',
    annotation: {
      id: item.annotationId,
      result: choiceResult(item.label),
      was_cancelled: false,
      ground_truth: false,
      created_at: now,
      updated_at: now,
      lead_time: 1,
      prediction: {},
      result_count: 0,
      task: item.taskId,
      completed_by: 1,
      project,
    },
    task: { id: item.taskId, data: { [VALUE_KEY]: item.text }, project, is_labeled: true, created_at: now, updated_at: now },
    project: projectObject(project, labelConfig),
  };
}

export function startTraining(project: number, labelConfig: string) {
  return { action: 'START_TRAINING', project: projectObject(project, labelConfig) };
}

/** /predict body: tasks with id + data, the project id as LS sends it (a string). */
export function predictBody(project: number, labelConfig: string, tasks: ReadonlyArray<{ id: number; text: string }>) {
  return { project: String(project), label_config: labelConfig, tasks: tasks.map((task) => ({ id: task.id, data: { [VALUE_KEY]: task.text } })) };
}
