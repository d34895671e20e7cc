/**
 * Issue 11: readiness is enforced in code. No instance is built before the model's preload has
 * finished; a failed preload is a catalogued 503 on every route that needs the model; /ready is
 * 503 while shutting down, and training asked for then is a catalogued 503 too.
 */
import { expect } from 'chai';
import { LabelStudioMLBase, type ModelInit, type PreloadContext, type Task } from '../../src/index.js';
import { SENTIMENT_CONFIG, annotationCreated, startTestServer, type TestServer } from '../helpers/server.js';

let release: () => void = () => undefined;
let preloadedWith: PreloadContext | undefined;
let preloadDone = false;

class SlowToLoad extends LabelStudioMLBase {
  static override async preload(context: PreloadContext): Promise<void> {
    await new Promise<void>((resolve) => (release = resolve));
    preloadedWith = context;
    preloadDone = true;
  }

  readonly builtAfterPreload: boolean;

  constructor(init: ModelInit) {
    super(init);
    this.builtAfterPreload = preloadDone;
  }

  override predict(tasks: Task[]) {
    return tasks.map(() => ({ result: [], built_after_preload: this.builtAfterPreload }));
  }
}

class CannotLoad extends LabelStudioMLBase {
  static override async preload(): Promise<void> {
    throw new Error('weights not found at /nowhere');
  }
}

describe('readiness (issue 11)', () => {
  describe('a model whose preload takes a while', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ modelClass: SlowToLoad });
    });
    after(() => server.stop());

    it('is live but not ready, answers /predict only once preload finished, and never builds an instance before', async () => {
      expect((await server.http.get('/health').expect(200)).body.ready).to.equal(false);
      expect((await server.http.get('/ready').expect(503)).body).to.deep.equal({ ready: false });
      let answered = false;
      const predicted = server.http.post('/predict').send({ project: '1', label_config: SENTIMENT_CONFIG, tasks: [{ data: { text: 'x' } }] }).then((res) => ((answered = true), res));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(answered, 'answered before the preload finished').to.equal(false);
      release();
      const res = await predicted;
      expect(res.status).to.equal(200);
      expect(res.body.results[0].built_after_preload).to.equal(true);
      expect((await server.http.get('/ready').expect(200)).body).to.deep.equal({ ready: true });
      // Contract C1: the preload context.
      expect(preloadedWith).to.include({ modelDir: server.modelDir, purpose: 'serve' });
      expect(typeof preloadedWith?.logger.info).to.equal('function');
    });

    it('turns /ready to 503 once shutting down, and refuses new training with MLB_ERR_SHUTTING_DOWN (annotations kept)', async () => {
      void server.backend.beginShutdown();
      const ready = await server.http.get('/ready').expect(503);
      expect(ready.body).to.deep.equal({ ready: false, shutting_down: true });
      // TRAIN_EVERY_N_ANNOTATIONS=1: this annotation would start a training.
      const annotated = await server.http.post('/webhook').send(annotationCreated(7, 1, 'good', 'Positive')).expect(503);
      expect(annotated.body).to.include({ status: 503, error: 'MLB_ERR_SHUTTING_DOWN' });
      expect(annotated.body.detail).to.match(/stored/);
      const refused = await server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 7, label_config: SENTIMENT_CONFIG } }).expect(503);
      expect(refused.body).to.include({ status: 503, error: 'MLB_ERR_SHUTTING_DOWN' });
      expect((await server.backend.annotationCounts('7')).usable, 'the annotation is kept').to.equal(1);
    });
  });

  describe('a model whose preload fails', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ modelClass: CannotLoad });
    });
    after(() => server.stop());

    it('reports the reason on /ready and answers model routes with a catalogued 503', async () => {
      await server.backend.whenPreloaded().catch(() => undefined);
      const ready = await server.http.get('/ready').expect(503);
      expect(ready.body.ready).to.equal(false);
      expect(ready.body.error).to.match(/weights not found at \/nowhere/);
      for (const [route, body] of [['/predict', { project: '1', label_config: SENTIMENT_CONFIG, tasks: [{ data: { text: 'x' } }] }], ['/setup', { project: '1', schema: SENTIMENT_CONFIG }]] as const) {
        const res = await server.http.post(route).send(body).expect(503);
        expect(res.body).to.include({ status: 503, error: 'MLB_ERR_MODEL_NOT_READY' });
        expect(res.body.detail).to.match(/weights not found/);
      }
      expect((await server.http.get('/health').expect(200)).body.status).to.equal('UP');
    });
  });
});
