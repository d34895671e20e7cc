/**
 * Legacy POST /train with Label Studio connected: the body is Label Studio's export (every
 * annotated task), so the backend trains on it as upstream does, without asking Label Studio's
 * export API again (which may fail, or hold something else); the new version then reaches Label
 * Studio through the prediction refresh like any other.
 */
import { expect } from 'chai';
import { waitFor } from '../helpers/server.js';
import { choice, servedVersion, startLoop, waitForRefreshed, type Loop } from './helpers.js';

describe('prediction refresh: legacy /train with Label Studio connected', function () {
  this.timeout(60_000);
  let loop: Loop;
  before(async () => {
    loop = await startLoop({ taskCount: 30 });
  });
  after(() => loop.stop());

  it('trains on the tasks its body carries, never on a second export, and the refresh follows', async () => {
    const labelled = loop.tasks.slice(0, 8).map((task, i) => {
      // sentimentTexts alternate positive and negative.
      const annotation = loop.ls.data.addAnnotation(task.id, choice(i % 2 === 0 ? 'Positive' : 'Negative'));
      return { id: task.id, data: task.data, annotations: [{ id: annotation.id, result: annotation.result, was_cancelled: false }] };
    });
    // Label Studio's export API is failing: a training that depended on it would fail too.
    loop.ls.fault({ path: new RegExp(`^/api/projects/${loop.project}/export`), status: 500 });

    const label_config = loop.ls.data.projects.get(loop.project)!.label_config;
    const reply = await loop.server.http.post('/train').send({ annotations: labelled, project: `${loop.project}.1700000000`, label_config }).expect(201);
    const job = await loop.server.backend.waitForJob(reply.body.job as string);
    expect(job, JSON.stringify(job)).to.include({ state: 'succeeded', annotationCount: 8 });
    expect(job.version).to.match(/^v0001-/);
    expect(await servedVersion(loop)).to.equal(job.version);
    expect(loop.ls.requestsTo(/\/export/)).to.deep.equal([]);

    await waitForRefreshed(loop, job.version!);
    expect(loop.ls.unlabelledTasks(loop.project)).to.have.length(22);
    await waitFor(async () => loop.ls.data.projects.get(loop.project)?.model_version === job.version || undefined, 10_000, 'model_version set');
  });
});
