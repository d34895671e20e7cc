/**
 * The shared labelled data sets (read in place from DATA_DIR, default ../shared/data beside the repository) and the
 * Label Studio payloads the benchmarks send: label configs, ANNOTATION_CREATED / START_TRAINING
 * webhooks (PROTOCOL §2.4), legacy /train exports and /predict bodies.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

import { DATA_DIR } from './datasets.js';

export { DATA_DIR };

export interface Row {
  text: string;
  label: string;
}

export function loadRows(dataset: string, split: 'train' | 'test' = 'train'): Row[] {
  const file = path.join(DATA_DIR, dataset, `${split}.csv`);
  const records = parse<Record<string, string>>(readFileSync(file), { columns: true, skip_empty_lines: true });
  return records.map((r) => ({ text: r.text ?? '', label: r.label ?? '' }));
}

/** The classifier's config: one Choices on one Text, `$text`. */
export function choicesConfig(labels: readonly string[]): string {
  const choices = labels.map((label) => `<Choice value="${label.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"/>`).join('');
  return `<View><Text name="text" value="$text"/><Choices name="label" toName="text">${choices}</Choices></View>`;
}

export const labelsOf = (rows: readonly Row[]) => [...new Set(rows.map((r) => r.label))].sort();

const choiceResult = (label: string) => [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [label] } }];

/** An ANNOTATION_CREATED webhook as Label Studio sends it (task id = annotation id = `id`). */
export function annotationWebhook(project: number, labelConfig: string, row: Row, id: number): object {
  return {
    action: 'ANNOTATION_CREATED',
    annotation: { id, task: id, project, result: choiceResult(row.label), was_cancelled: false, ground_truth: false, lead_time: 3.2, completed_by: 1 },
    task: { id, data: { text: row.text }, project },
    project: { id: project, title: `bench ${project}`, label_config: labelConfig },
  };
}

/** ANNOTATIONS_CREATED (bulk) with the tasks' data: ids `firstId`, `firstId + 1`, … */
export function annotationsCreatedWebhook(project: number, labelConfig: string, rows: readonly Row[], firstId: number): object {
  return {
    action: 'ANNOTATIONS_CREATED',
    annotations: rows.map((row, i) => ({ id: firstId + i, task: firstId + i, project, result: choiceResult(row.label), was_cancelled: false, ground_truth: false })),
    tasks: rows.map((row, i) => ({ id: firstId + i, data: { text: row.text }, project })),
    project: { id: project, title: `bench ${project}`, label_config: labelConfig },
  };
}

export function startTrainingWebhook(project: number, labelConfig: string): object {
  return { action: 'START_TRAINING', project: { id: project, title: `bench ${project}`, label_config: labelConfig } };
}

/** Legacy POST /train: exported tasks with their annotations. */
export function trainBody(project: number, labelConfig: string, rows: readonly Row[], firstId = 1): object {
  return {
    project: String(project),
    label_config: labelConfig,
    annotations: rows.map((row, i) => ({ id: firstId + i, data: { text: row.text }, annotations: [{ id: firstId + i, result: choiceResult(row.label), was_cancelled: false }] })),
  };
}

export function predictBody(project: number, labelConfig: string, texts: readonly string[], firstId = 1): string {
  return JSON.stringify({
    project: String(project),
    label_config: labelConfig,
    tasks: texts.map((text, i) => ({ id: firstId + i, data: { text } })),
    params: { login: null, password: null, context: null },
  });
}

/**
 * `count` /predict bodies of `tasksPerRequest` tasks each, taking `texts` in turn. With a `tag`,
 * every text is made unique (tag + serial number appended), so the embedding cache never answers
 * for the encoder — as when Label Studio asks for tasks it has not predicted yet; with `null`
 * the texts are sent as they are.
 */
export function predictBodies(project: number, labelConfig: string, texts: readonly string[], count: number, tasksPerRequest: number, tag: string | null): string[] {
  const bodies: string[] = [];
  let n = 0;
  for (let b = 0; b < count; b++) {
    const batch: string[] = [];
    for (let t = 0; t < tasksPerRequest; t++, n++) {
      const text = texts[n % texts.length] ?? '';
      batch.push(tag === null ? text : `${text} ${tag}${n}`);
    }
    bodies.push(predictBody(project, labelConfig, batch, b * tasksPerRequest + 1));
  }
  return bodies;
}
