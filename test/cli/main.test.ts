import { expect } from 'chai';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { expectOneLineFailure, runCli } from './run-cli.js';

/** Help text of a command line, in-process (the launcher itself is tested below). */
async function helpOf(args: string[]): Promise<string> {
  const program = buildProgram();
  let out = '';
  const quiet = (command: Command) => {
    command.exitOverride().configureOutput({ writeOut: (text) => (out += text), writeErr: (text) => (out += text) });
    command.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync([...args, '--help'], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError) || error.exitCode !== 0) throw error;
  }
  return out;
}

describe('cli: help, version and failures', () => {
  const commands = [
    [], ['init'], ['start'], ['train'], ['checkpoints'], ['checkpoints', 'list'], ['checkpoints', 'show'], ['checkpoints', 'rollback'],
    ['checkpoints', 'prune'], ['fetch-model'], ['fetch-model', 'use'], ['deploy'], ['deploy', 'gcp'], ['healthcheck'],
  ];

  it('every command and subcommand has --help', async () => {
    for (const args of commands) {
      expect(await helpOf(args), args.join(' ')).to.match(new RegExp(`^Usage: label-studio-ml-tfjs ${args.join(' ')}`.trim()));
    }
  });

  it('the launcher prints help and --version with exit 0', async () => {
    const [result, version] = await Promise.all([runCli(['--help']), runCli(['--version'])]);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/^Usage: label-studio-ml-tfjs/);
    for (const command of ['init', 'start', 'train', 'checkpoints', 'fetch-model', 'deploy', 'healthcheck']) expect(result.stdout).to.include(command);
    expect(version.code).to.equal(0);
    expect(version.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
  });

  it('usage errors and runtime failures exit non-zero with one line; --verbose adds the stack', async () => {
    const [badOption, failure, verbose] = await Promise.all([
      runCli(['start', '--port', 'eighty']),
      runCli(['start', '/no/such/model.ts']),
      runCli(['start', '/no/such/model.ts', '--verbose']),
    ]);
    expect(expectOneLineFailure(badOption)).to.match(/--port.*'eighty' is invalid/);
    expect(expectOneLineFailure(failure)).to.equal('label-studio-ml-tfjs: error: model module not found: /no/such/model.ts');
    expect(verbose.code).to.equal(1);
    expect(verbose.stderr).to.match(/^\s+at /m);
  });
});
