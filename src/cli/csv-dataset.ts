/**
 * A labelled CSV as Label Studio would export it: one task per row, one annotation with a single
 * choice, and a Choices/Text label config (generated from the distinct labels unless given).
 */
import { parse } from 'csv-parse/sync';
import type { AnnotatedTask } from '../types.js';
import { getFirstTagOccurrence, parseLabelConfig } from '../model/label-config.js';
import { CliError } from './support.js';

/**
 * Task and annotation ids of CSV rows start here, far above the ids a Label Studio instance hands
 * out, so bootstrapped annotations never replace real ones (and a re-run replaces its own).
 */
export const CSV_ID_BASE = 1_900_000_000;

export interface CsvDatasetOptions {
  textColumn: string;
  labelColumn: string;
  /** A Label Studio label config; generated when absent. */
  labelConfig?: string;
}

export interface CsvDataset {
  tasks: AnnotatedTask[];
  labelConfig: string;
  labels: string[];
  skipped: number;
}

const xmlAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function generateLabelConfig(labels: string[], dataKey = 'text'): string {
  const choices = labels.map((label) => `    <Choice value="${xmlAttr(label)}"/>`).join('\n');
  return `<View>\n  <Text name="text" value="$${dataKey}"/>\n  <Choices name="label" toName="text" choice="single" showInLine="true">\n${choices}\n  </Choices>\n</View>`;
}

export function csvToDataset(csvText: string, options: CsvDatasetOptions): CsvDataset {
  let rows: Record<string, string>[];
  try {
    rows = parse<Record<string, string>>(csvText, { columns: true, skip_empty_lines: true, bom: true, relax_column_count: true });
  } catch (error) {
    throw new CliError(`cannot parse the CSV: ${(error as Error).message}`);
  }
  if (rows.length === 0) throw new CliError('the CSV has a header but no rows');
  const columns = Object.keys(rows[0] ?? {});
  for (const column of [options.textColumn, options.labelColumn]) {
    if (!columns.includes(column)) throw new CliError(`the CSV has no column ${JSON.stringify(column)} (columns: ${columns.join(', ')})`);
  }
  const usable = rows
    .map((row, index) => ({ index, text: row[options.textColumn] ?? '', label: (row[options.labelColumn] ?? '').trim() }))
    .filter((row) => row.text.trim() !== '' && row.label !== '');
  if (usable.length === 0) throw new CliError(`no row has both a ${options.textColumn} and a ${options.labelColumn}`);
  const labels = [...new Set(usable.map((row) => row.label))].sort();

  // Generated configs name the data key after the text column when it is a plain identifier.
  const dataKey = /^[A-Za-z_]\w*$/.test(options.textColumn) ? options.textColumn : 'text';
  const labelConfig = options.labelConfig ?? generateLabelConfig(labels, dataKey);
  const { fromName, toName, value } = choicesControl(labelConfig);
  if (options.labelConfig !== undefined) {
    const known = new Set(parseLabelConfig(labelConfig)[fromName]?.labels ?? []);
    const unknown = labels.filter((label) => !known.has(label));
    if (known.size > 0 && unknown.length > 0) throw new CliError(`labels not in the label config's <Choices name="${fromName}">: ${unknown.join(', ')}`);
  }

  const tasks = usable.map(({ index, text, label }): AnnotatedTask => {
    const id = CSV_ID_BASE + index + 1;
    return {
      id,
      data: { [value]: text },
      annotations: [
        {
          id,
          task: id,
          was_cancelled: false,
          ground_truth: false,
          result: [{ id: `csv${index + 1}`, from_name: fromName, to_name: toName, type: 'choices', value: { choices: [label] } }],
        },
      ],
    };
  });
  return { tasks, labelConfig, labels, skipped: rows.length - usable.length };
}

function choicesControl(labelConfig: string) {
  try {
    return getFirstTagOccurrence(parseLabelConfig(labelConfig), 'Choices', ['Text', 'HyperText', 'Paragraphs']);
  } catch (error) {
    throw new CliError(`the label config needs a <Choices> on a <Text>: ${(error as Error).message}`);
  }
}
