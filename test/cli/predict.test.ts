/**
 * `predict`: bulk pre-annotation on demand, through the same job as the automatic refresh. Every
 * task (or only the unlabelled ones) gets one prediction of the served version; a second run
 * writes nothing twice; plain progress lines in CI; a clear one-line failure without Label Studio.
 */
import { expect } from 'chai';
import { tempDir, waitFor } from '../helpers/server.js';
import { annotateFirst, servedVersion, startLoop } from '../refresh/helpers.js';
import { TOY_ENTRY, expectOneLineFailure, runCli } from './run-cli.js';

describe('cli: predict', function () {
  this.timeout(120_000);

  it('writes a prediction of the served version into every task, once, and says so', async () => {
    const modelDir = tempDir();
    const loop = await startLoop({ taskCount: 45, modelDir, env: { PREDICTION_REFRESH: 'off' } });
    try {
      await annotateFirst(loop, 6);
      await loop.ls.startTraining(loop.project);
      await waitFor(async () => (await servedVersion(loop)) !== 'v0000-initial' || undefined, 30_000, 'a version');
      const version = await servedVersion(loop);
      await loop.server.stop();
      const env = { LABEL_STUDIO_URL: loop.ls.url, LABEL_STUDIO_API_KEY: loop.ls.auth.legacyToken };
      const args = ['predict', '--project', String(loop.project), '--entry', TOY_ENTRY, '--model-dir', modelDir, '--batch', '10'];

      const unlabelled = await runCli([...args, '--only-unlabelled', '--json'], { env, timeoutMs: 90_000 });
      expect(unlabelled.code, unlabelled.stderr).to.equal(0);
      expect(JSON.parse(unlabelled.stdout)).to.deep.include({ project: '7', version, state: 'succeeded', tasks: 39, written: 39, skipped: 0, failed: 0, activated: true });
      expect(unlabelled.stderr).to.match(/^39\/39 tasks$/m).and.not.include('\u001b[');
      for (const task of loop.tasks.slice(0, 6)) expect(loop.ls.predictionsOf(task.id)).to.deep.equal([]);

      const all = await runCli(args, { env, timeoutMs: 90_000 });
      expect(all.code, all.stderr).to.equal(0);
      expect(all.stdout).to.equal(`project 7: 6 predictions of ${version} written (0 already there, 0 failed) in ${/in ([\d.]+) s/.exec(all.stdout)?.[1]} s; Label Studio's model version is now this one\n`);
      for (const task of loop.tasks) expect(loop.ls.predictionsOf(task.id, version), `task ${task.id}`).to.have.length(1);
    } finally {
      await loop.ls.stop();
    }
  });

  it('fails with one line when Label Studio is not configured', async () => {
    const result = await runCli(['predict', '--project', '3', '--entry', TOY_ENTRY, '--model-dir', tempDir()], { env: { LABEL_STUDIO_URL: undefined, LABEL_STUDIO_API_KEY: undefined } });
    expect(expectOneLineFailure(result)).to.match(/set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY/);
  });
});
