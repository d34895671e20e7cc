/**
 * `label-studio-ml-tfjs`: the command line. Each command lives in its own file and imports its
 * heavy modules (TF.js, the backend) only when it runs, so `--help` and `healthcheck` stay fast.
 * Every failure ends with a one-line reason and a non-zero exit; --verbose adds the stack.
 */
import { Command, CommanderError } from 'commander';
import { checkpointsCommand } from './checkpoints.js';
import { deployCommand } from './deploy.js';
import { fetchModelCommand } from './fetch-model.js';
import { healthcheckCommand } from './healthcheck.js';
import { initCommand } from './init.js';
import { doctorCommand } from './doctor.js';
import { predictCommand } from './predict.js';
import { startCommand } from './start.js';
import { trainCommand } from './train.js';
import { CLI_NAME, CliError, packageJson } from './support.js';

export function buildProgram(): Command {
  const program = new Command(CLI_NAME)
    .description('Label Studio ML backend with TensorFlow.js models: serve, train, pre-annotate, inspect checkpoints, deploy, diagnose')
    .version(packageJson().version)
    .option('--verbose', 'print stack traces on failure')
    .showSuggestionAfterError()
    .configureHelp({ showGlobalOptions: true });
  for (const command of [initCommand(), startCommand(), trainCommand(), predictCommand(), checkpointsCommand(), fetchModelCommand(), deployCommand(), healthcheckCommand(), doctorCommand()]) {
    program.addCommand(command);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    reportFailure(error, argv.includes('--verbose'));
    process.exit(error instanceof CliError ? error.exitCode : 1);
  }
  // One-shot commands end here; lingering handles (worker threads, sqlite) must not keep us up.
  // `start` never gets here: its action only returns when the server stops.
  process.exit(process.exitCode ?? 0);
}

function reportFailure(error: unknown, verbose: boolean): void {
  if (error instanceof CommanderError) return; // commander already printed its one-liner
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n').find((line) => line.trim() !== '') ?? message;
  console.error(`${CLI_NAME}: error: ${firstLine}`);
  if (verbose && error instanceof Error) {
    console.error(error.stack);
    if (error.cause !== undefined) console.error('caused by:', error.cause);
  }
}
