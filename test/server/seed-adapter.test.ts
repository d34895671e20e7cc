/** Seed-style train()/load() code served through the adapter, over HTTP. */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { seedModel, type AnnotatedTask } from '../../src/index.js';
import { SENTIMENT_CONFIG, annotationCreated, startTestServer, type TestServer } from '../helpers/server.js';

/** "Training" counts choices and writes the majority to a file in the working dir. */
const MajorityModel = seedModel({
  name: 'MajorityModel',
  async train(input: AsyncIterable<AnnotatedTask>, workingDir: string) {
    const counts = new Map<string, number>();
    for await (const task of input) {
      for (const annotation of task.annotations) {
        const choice = (annotation.result[0]?.value.choices as string[] | undefined)?.[0];
        if (choice) counts.set(choice, (counts.get(choice) ?? 0) + 1);
      }
    }
    if (counts.size === 0) return null;
    const majority = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const file = path.join(workingDir, 'majority.json');
    fs.writeFileSync(file, JSON.stringify({ majority }));
    return { file, counts: Object.fromEntries(counts) };
  },
  createInferenceModel() {
    let majority = '';
    return {
      load(resources) {
        majority = JSON.parse(fs.readFileSync(resources.file as string, 'utf8')).majority;
      },
      predict(tasks) {
        return tasks.map(() => ({ result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [majority] } }], score: 1 }));
      },
    };
  },
});

describe('seed-style train/load adapter', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ modelClass: MajorityModel, env: { TRAIN_EVERY_N_ANNOTATIONS: '0' } });
  });
  after(() => server.stop());

  it('trains through train(inputIterator, workingDir) and serves load(resources) from the new version', async () => {
    expect((await server.http.get('/health')).body.model_class).to.equal('MajorityModel');
    let predicted = await server.http.post('/predict').send({ project: '1', label_config: SENTIMENT_CONFIG, tasks: [{ data: { text: 'x' } }] }).expect(200);
    expect(predicted.body.results).to.deep.equal([]);
    for (const [i, choice] of ['Negative', 'Negative', 'Positive'].entries()) {
      await server.http.post('/webhook').send(annotationCreated(1, i + 1, `text ${i}`, choice)).expect(201);
    }
    await server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: 1, label_config: SENTIMENT_CONFIG } }).expect(201);
    await server.backend.waitForJobs();
    predicted = await server.http.post('/predict').send({ project: '1', tasks: [{ data: { text: 'x' } }] }).expect(200);
    expect(predicted.body.results[0].result[0].value.choices).to.deep.equal(['Negative']);
    const version = predicted.body.model_version as string;
    const trainOutput = JSON.parse(fs.readFileSync(path.join(server.modelDir, '1', version, 'train_output.json'), 'utf8'));
    expect(trainOutput.counts).to.deep.equal({ Negative: 2, Positive: 1 });
    expect(trainOutput.file).to.equal(path.join(server.modelDir, '1', version, 'majority.json'));
  });
});
