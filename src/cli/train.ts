/**
 * `train --data file.csv --project ID`: bootstraps a project from a labelled CSV. The rows become
 * the project's annotations (stored like webhook ones) and one training job runs through the
 * backend's own façade (job queue, trainer), so the version it creates is exactly what a server
 * serves — and a server running on the same MODEL_DIR switches to it within VERSION_POLL_MS.
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { JsonObject } from '../types.js';
import { CliError, LOG_LEVELS, TFJS_BACKENDS, formatMetrics, jsonObjectArg } from './support.js';
import { createProgressView } from './progress.js';
import { openOneShotBackend, runOneJob, type OneShotFlags } from './run-job.js';

interface TrainFlags extends OneShotFlags {
  data: string;
  project: string;
  textColumn: string;
  labelColumn: string;
  labelConfig?: string;
  extraParams?: Record<string, unknown>;
  json?: boolean;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('train a version offline from a labelled CSV (bootstraps a project from existing labels)')
    .requiredOption('--data <file>', 'CSV with a header row')
    .requiredOption('--project <id>', 'Label Studio project id the version belongs to')
    .option('--text-column <name>', 'column holding the text', 'text')
    .option('--label-column <name>', 'column holding the label', 'label')
    .option('--label-config <file>', 'Label Studio label config XML (default: Choices/Text from the distinct labels)')
    .option('--entry <module>', 'model module (default: the bundled text classifier)')
    .option('--export <name>', 'named export holding the model class')
    .option('--model-dir <dir>', 'checkpoint directory (env MODEL_DIR, default ./checkpoints)')
    .option('--extra-params <json>', 'extra params for the model, as /setup would store them', jsonObjectArg)
    .addOption(new Option('--log-level <level>', 'backend log level').choices(LOG_LEVELS).default('warn'))
    .addOption(new Option('--tfjs-backend <backend>', 'TF.js backend (env TFJS_BACKEND, default auto)').choices(TFJS_BACKENDS))
    .option('--json', 'print the result as JSON')
    .action(async (flags: TrainFlags) => train(flags));
}

async function train(flags: TrainFlags): Promise<void> {
  const csv = await readText(flags.data, 'CSV');
  const labelConfig = flags.labelConfig !== undefined ? await readText(flags.labelConfig, 'label config') : undefined;
  const { csvToDataset } = await import('./csv-dataset.js');
  const dataset = csvToDataset(csv, { textColumn: flags.textColumn, labelColumn: flags.labelColumn, ...(labelConfig !== undefined && { labelConfig }) });

  const { normalizeProjectId } = await import('../store/safe-names.js');
  const project = normalizeProjectId(flags.project);
  const { backend, config } = await openOneShotBackend(flags);
  const say = (line: string) => (flags.json ? undefined : console.error(line));
  try {
    say(`${dataset.tasks.length} annotated rows (${dataset.skipped} skipped), labels: ${dataset.labels.join(', ')}`);
    say(`training ${backend.modelName} for project ${project} on ${backend.tfRuntime.backend} (model dir ${config.modelDir})`);
    // Offline on purpose: the CSV's rows are the annotations, never replaced by a Label Studio export.
    const record = await runOneJob(backend, createProgressView(), () =>
      backend.trainNow(project, {
        labelConfig: dataset.labelConfig,
        ...(flags.extraParams && { extraParams: flags.extraParams as JsonObject }),
        annotatedTasks: dataset.tasks,
        data: { project: { id: project, label_config: dataset.labelConfig }, source: 'csv' },
        refreshFromLabelStudio: false,
      }),
    );
    if (record.state !== 'succeeded') throw new CliError(`training ${record.state}: ${record.error ?? 'no reason given'}`);
    if (record.version === undefined) throw new CliError('fit returned no train output: no version was created');
    const result = {
      project,
      version: record.version,
      base_version: record.baseVersion ?? null,
      annotations: record.annotationCount ?? dataset.tasks.length,
      metrics: record.metrics ?? {},
      duration_s: Math.round((record.durationMs ?? 0) / 100) / 10,
    };
    if (flags.json) console.log(JSON.stringify(result, null, 2));
    else console.log(`project ${project}: new version ${result.version} (${formatMetrics(result.metrics) || 'no metrics'}) in ${result.duration_s} s`);
  } finally {
    await backend.close('cancel');
  }
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
