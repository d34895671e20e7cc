import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/server.js';
import { expectOneLineFailure, runCli } from './run-cli.js';

/** A stand-in `gcloud` on PATH that records its arguments (one per line) and exits with $GCLOUD_EXIT. */
function fakeGcloud(): { bin: string; record: string } {
  const bin = tempDir('mlb-gcloud-');
  const record = path.join(bin, 'args.txt');
  fs.writeFileSync(path.join(bin, 'gcloud'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${record}"\necho "Deploying... done"\nexit "\${GCLOUD_EXIT:-0}"\n`, { mode: 0o755 });
  return { bin, record };
}

describe('cli: deploy gcp', () => {
  it('runs gcloud run deploy --source with project, region and env vars, and masks secrets in what it prints', async () => {
    const { bin, record } = fakeGcloud();
    const project = path.join(tempDir(), 'My_Backend');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'Dockerfile'), 'FROM node:20-bookworm-slim\n');
    const result = await runCli(
      ['deploy', 'gcp', project, '--gcp-project-id', 'proj-1', '--gcp-region', 'europe-west1', '--label-studio-url', 'https://ls.example.com',
        '--label-studio-api-key', 'tok-SECRET-123', '--basic-auth-user', 'ops', '--basic-auth-pass', 'pw,with,commas', '--env', 'LOG_LEVEL=debug'],
      { env: { PATH: `${bin}:${process.env.PATH}` } },
    );
    expect(result.code, result.stderr).to.equal(0);
    const args = fs.readFileSync(record, 'utf8').trimEnd().split('\n');
    expect(args.slice(0, 9)).to.deep.equal(['run', 'deploy', 'my-backend', '--source', project, '--project', 'proj-1', '--region', 'europe-west1']);
    // A value with commas switches gcloud's list delimiter (gcloud topic escaping).
    expect(args[9]).to.equal('--set-env-vars');
    expect(args[10]).to.equal('^@^LABEL_STUDIO_URL=https://ls.example.com@LABEL_STUDIO_API_KEY=tok-SECRET-123@BASIC_AUTH_USER=ops@BASIC_AUTH_PASS=pw,with,commas@LOG_LEVEL=debug');
    expect(args).to.include('--allow-unauthenticated');
    expect(result.stdout).to.match(/^\$ gcloud run deploy my-backend --source /);
    expect(result.stdout).to.include('LABEL_STUDIO_API_KEY=****').and.include('BASIC_AUTH_PASS=****').and.include('Deploying... done');
    expect(result.stdout + result.stderr).to.not.include('tok-SECRET-123').and.not.include('pw,with');
  });

  it('passes a gcloud failure on as a one-line error with its exit code; a missing gcloud or directory is one line too', async () => {
    const { bin } = fakeGcloud();
    const project = tempDir();
    const base = ['deploy', 'gcp', project, '--gcp-project-id', 'p', '--gcp-region', 'r', '--service', 'svc'];
    const [failed, missing, noDir, badName] = await Promise.all([
      runCli(base, { env: { PATH: `${bin}:${process.env.PATH}`, GCLOUD_EXIT: '3' } }),
      runCli(base, { env: { PATH: tempDir() } }),
      runCli(['deploy', 'gcp', '/no/such/dir', '--gcp-project-id', 'p', '--gcp-region', 'r']),
      runCli([...base.slice(0, -1), 'Not_Valid']),
    ]);
    expect(failed.code).to.equal(3);
    expect(failed.stderr).to.include('warning: ').and.include('Dockerfile is missing');
    expect(failed.stderr.trim().split('\n').at(-1)).to.equal('label-studio-ml-tfjs: error: gcloud run deploy exited with code 3');
    expect(missing.stderr.trim().split('\n').at(-1)).to.match(/error: gcloud not found on PATH/);
    expect(expectOneLineFailure(noDir)).to.equal('label-studio-ml-tfjs: error: not a directory: /no/such/dir');
    expect(badName.stderr).to.match(/invalid Cloud Run service name "Not_Valid"/);
  });
});
