/**
 * Turns the kept annotations into (text, choices) samples for the configured Choices control.
 * Every annotation of a task is a sample (several annotators = several votes); choices the
 * current config no longer has are dropped, so a model never learns a label it cannot name.
 */
import { getTaskText, type AnnotatedTask } from '../../src/index.js';

export interface Sample {
  text: string;
  choices: string[];
}

export interface SampleSet {
  samples: Sample[];
  /** Annotations skipped: no choice for this control, no text, or only unknown choices. */
  skipped: number;
}

export function collectSamples(tasks: readonly AnnotatedTask[], fromName: string, valueKey: string, allowed: ReadonlySet<string>): SampleSet {
  const samples: Sample[] = [];
  let skipped = 0;
  for (const task of tasks) {
    const text = getTaskText(task, valueKey);
    for (const annotation of task.annotations) {
      const region = annotation.result.find((item) => item.from_name === fromName && item.type?.toLowerCase() === 'choices');
      const raw = region?.value.choices;
      const choices = Array.isArray(raw) ? raw.filter((c): c is string => typeof c === 'string' && allowed.has(c)) : [];
      if (text === undefined || choices.length === 0) skipped++;
      else samples.push({ text, choices });
    }
  }
  return { samples, skipped };
}
