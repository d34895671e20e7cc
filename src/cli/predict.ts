/**
 * `predict --project ID`: bulk pre-annotation on demand. Runs the prediction refresh job — the
 * same one the server runs after every new version — in this process on MODEL_DIR's version:
 * every task of the project (only the unlabelled ones with --only-unlabelled) gets a prediction of
 * the version written into Label Studio (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY), in batches,
 * paced, without ever writing a task's prediction of the version twice.
 */
import { Command, Option } from 'commander';
import { CliError, LOG_LEVELS, TFJS_BACKENDS, intArg } from './support.js';
import { createTaskProgressView } from './progress.js';
import { openOneShotBackend, runOneJob, type OneShotFlags } from './run-job.js';

interface PredictFlags extends OneShotFlags {
  project: string;
  onlyUnlabelled?: boolean;
  version?: string;
  batch?: number;
  json?: boolean;
}

export function predictCommand(): Command {
  return new Command('predict')
    .description("write predictions of a version into a Label Studio project's tasks (bulk pre-annotation; the server's prediction refresh, on demand)")
    .requiredOption('--project <id>', 'Label Studio project id')
    .option('--only-unlabelled', 'only tasks without annotations (default: every task)')
    .option('--version <version>', 'version to predict with (default: the one served)')
    .option('--batch <n>', 'tasks per Label Studio request (env PREDICTION_REFRESH_BATCH, default 100)', intArg(1, 1000))
    .option('--entry <module>', 'model module (default: the bundled text classifier)')
    .option('--export <name>', 'named export holding the model class')
    .option('--model-dir <dir>', 'checkpoint directory (env MODEL_DIR, default ./checkpoints)')
    .addOption(new Option('--log-level <level>', 'backend log level').choices(LOG_LEVELS).default('warn'))
    .addOption(new Option('--tfjs-backend <backend>', 'TF.js backend (env TFJS_BACKEND, default auto)').choices(TFJS_BACKENDS))
    .option('--json', 'print the result as JSON')
    .action(async (flags: PredictFlags) => predict(flags));
}

async function predict(flags: PredictFlags): Promise<void> {
  const { normalizeProjectId } = await import('../store/safe-names.js');
  const project = normalizeProjectId(flags.project);
  const { backend, config } = await openOneShotBackend(flags);
  if (!config.labelStudioUrl || !config.labelStudioApiKey) {
    await backend.close('cancel');
    throw new CliError('predict writes into Label Studio: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY');
  }
  try {
    const record = await runOneJob(backend, createTaskProgressView(), () =>
      backend.refreshPredictions(project, {
        onlyUnlabelled: flags.onlyUnlabelled === true,
        ...(flags.version !== undefined && { version: flags.version }),
        ...(flags.batch !== undefined && { batch: flags.batch }),
      }),
    );
    const metrics = record.metrics ?? {};
    const result = {
      project,
      version: record.version ?? null,
      state: record.state,
      tasks: metrics['tasks'] ?? 0,
      written: metrics['written'] ?? 0,
      skipped: metrics['skipped'] ?? 0,
      failed: metrics['failed'] ?? 0,
      activated: metrics['activated'] === 1,
      duration_s: Math.round((record.durationMs ?? 0) / 100) / 10,
      ...(record.error !== undefined && { error: record.error }),
    };
    if (flags.json) console.log(JSON.stringify(result, null, 2));
    if (record.state !== 'succeeded') throw new CliError(`prediction refresh ${record.state}: ${record.error ?? 'no reason given'}`);
    if (!flags.json) {
      console.log(
        `project ${project}: ${result.written} predictions of ${result.version ?? '?'} written ` +
          `(${result.skipped} already there, ${result.failed} failed) in ${result.duration_s} s` +
          (result.activated ? "; Label Studio's model version is now this one" : ''),
      );
    }
  } finally {
    await backend.close('cancel');
  }
}
