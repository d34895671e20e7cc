import { expect } from 'chai';
import { expectOneLineFailure, runCli } from './run-cli.js';

describe('cli: help, version and failures', () => {
  const commands = [
    [], ['init'], ['start'], ['train'], ['checkpoints'], ['checkpoints', 'list'], ['checkpoints', 'show'], ['checkpoints', 'rollback'],
    ['checkpoints', 'prune'], ['fetch-model'], ['fetch-model', 'use'], ['deploy'], ['deploy', 'gcp'], ['healthcheck'],
  ];

  it('every command and subcommand answers --help with exit 0', async () => {
    const results = await Promise.all(commands.map((args) => runCli([...args, '--help'])));
    results.forEach((result, i) => {
      expect(result.code, `${commands[i]?.join(' ')} --help`).to.equal(0);
      expect(result.stdout).to.match(/^Usage: label-studio-ml-tfjs/);
    });
    expect(results[0]?.stdout).to.include('checkpoints').and.include('deploy').and.include('fetch-model');
  });

  it('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).to.equal(0);
    expect(result.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
  });

  it('usage errors and runtime failures exit non-zero with one line; --verbose adds the stack', async () => {
    const [unknown, badOption, failure, verbose] = await Promise.all([
      runCli(['frobnicate']),
      runCli(['start', '--port', 'eighty']),
      runCli(['start', '/no/such/model.ts']),
      runCli(['start', '/no/such/model.ts', '--verbose']),
    ]);
    expect(expectOneLineFailure(unknown)).to.match(/unknown command 'frobnicate'/);
    expect(expectOneLineFailure(badOption)).to.match(/--port.*'eighty' is invalid/);
    expect(expectOneLineFailure(failure)).to.equal('label-studio-ml-tfjs: error: model module not found: /no/such/model.ts');
    expect(verbose.code).to.equal(1);
    expect(verbose.stderr).to.match(/^\s+at /m);
  });
});
