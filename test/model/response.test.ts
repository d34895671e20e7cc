import { expect } from 'chai';
import { MlBackendError } from '../../src/errors.js';
import { ModelResponse, PredictionValue, normalizePredictResult } from '../../src/model/response.js';

/** T6 fixture (MLB tests/test_response.py). */
function fixture(): Array<PredictionValue | PredictionValue[]> {
  return [
    new PredictionValue({ model_version: '0.1', score: 0.1, result: [{}] }),
    new PredictionValue({ score: 0.1, result: [{}] }),
    [
      new PredictionValue({ model_version: 'prediction_1', score: 0.2, result: [{}] }),
      new PredictionValue({ score: 0.3, result: [{}] }),
    ],
  ];
}

function expectModelError(run: () => unknown, code: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(MlBackendError);
  expect((caught as MlBackendError).code).to.equal(code);
  expect((caught as MlBackendError).status).to.equal(500);
  expect((caught as MlBackendError).message).to.match(pattern);
}

const region = { from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } };

describe('PredictionValue', () => {
  it('defaults to score 0.0, an empty result and no version, dumped in Python key order', () => {
    const json = new PredictionValue().toJSON();
    expect(json).to.deep.equal({ model_version: null, score: 0.0, result: [] });
    expect(Object.keys(json)).to.deep.equal(['model_version', 'score', 'result']);
  });
});

describe('ModelResponse (T6)', () => {
  it('has_model_version is false without a version and true after setting one', () => {
    const res = new ModelResponse({ predictions: fixture() });
    expect(res.hasModelVersion()).to.equal(false);
    res.modelVersion = '1.0';
    expect(res.hasModelVersion()).to.equal(true);
  });

  it('update_predictions_version keeps own versions and fills missing ones', () => {
    const res = new ModelResponse({ predictions: fixture() });
    res.modelVersion = '1.0';
    res.updatePredictionsVersion();
    expect((res.predictions[0] as PredictionValue).model_version).to.equal('0.1');
    expect((res.predictions[1] as PredictionValue).model_version).to.equal('1.0');
  });

  it('set_version sets the top level and fills missing prediction versions', () => {
    const res = new ModelResponse({ predictions: fixture() });
    res.setVersion('2.0');
    expect(res.modelVersion).to.equal('2.0');
    expect((res.predictions[0] as PredictionValue).model_version).to.equal('0.1');
    expect((res.predictions[1] as PredictionValue).model_version).to.equal('2.0');
  });

  it('serialises like model_dump, nulls and nested list included', () => {
    const res = new ModelResponse({ modelVersion: '1.0', predictions: fixture() });
    const expected = {
      model_version: '1.0',
      predictions: [
        { model_version: '0.1', score: 0.1, result: [{}] },
        { model_version: null, score: 0.1, result: [{}] },
        [
          { model_version: 'prediction_1', score: 0.2, result: [{}] },
          { model_version: null, score: 0.3, result: [{}] },
        ],
      ],
    };
    expect(res.toJSON()).to.deep.equal(expected);
    expect(JSON.parse(JSON.stringify(res))).to.deep.equal(expected);
    expect(JSON.stringify(res)).to.equal(
      '{"model_version":"1.0","predictions":[{"model_version":"0.1","score":0.1,"result":[{}]},' +
        '{"model_version":null,"score":0.1,"result":[{}]},[{"model_version":"prediction_1","score":0.2,"result":[{}]},' +
        '{"model_version":null,"score":0.3,"result":[{}]}]]}',
    );
  });

  it('after update_predictions_version every null becomes the response version, nested list included', () => {
    const res = new ModelResponse({ modelVersion: '1.0', predictions: fixture() });
    res.updatePredictionsVersion();
    expect(res.toJSON()).to.deep.equal({
      model_version: '1.0',
      predictions: [
        { model_version: '0.1', score: 0.1, result: [{}] },
        { model_version: '1.0', score: 0.1, result: [{}] },
        [
          { model_version: 'prediction_1', score: 0.2, result: [{}] },
          { model_version: '1.0', score: 0.3, result: [{}] },
        ],
      ],
    });
  });

  it('dumps a missing top-level version as null and coerces plain init objects', () => {
    const res = new ModelResponse({ predictions: [{ result: [region], score: 0.5 }, [{ result: [] }]] });
    expect(res.toJSON()).to.deep.equal({
      model_version: null,
      predictions: [{ model_version: null, score: 0.5, result: [region] }, [{ model_version: null, score: 0.0, result: [] }]],
    });
  });
});

describe('normalizePredictResult', () => {
  it('returns [] for null and undefined (T3: the base model predicts nothing)', () => {
    expect(normalizePredictResult(null, 1, '0.0.1')).to.deep.equal([]);
    expect(normalizePredictResult(undefined, 3, '0.0.1')).to.deep.equal([]);
    expect(normalizePredictResult([], 3, '0.0.1')).to.deep.equal([]);
  });

  it('stamps the served version on a ModelResponse without one (observed 2.x reply)', () => {
    const res = new ModelResponse({ predictions: [new PredictionValue({ result: [], score: 0.7 })] });
    expect(normalizePredictResult(res, 1, '0.0.1')).to.deep.equal([{ model_version: '0.0.1', score: 0.7, result: [] }]);
    // The model's object is left as it was.
    expect(res.modelVersion).to.equal(null);
  });

  it("prefers a ModelResponse's own version for its predictions", () => {
    const res = new ModelResponse({ modelVersion: 'mine', predictions: fixture() });
    expect(normalizePredictResult(res, 3, 'served')).to.deep.equal([
      { model_version: '0.1', score: 0.1, result: [{}] },
      { model_version: 'mine', score: 0.1, result: [{}] },
      [
        { model_version: 'prediction_1', score: 0.2, result: [{}] },
        { model_version: 'mine', score: 0.3, result: [{}] },
      ],
    ]);
  });

  it('accepts {predictions: [...]} and uses its model_version as the fallback', () => {
    expect(normalizePredictResult({ predictions: [{ result: [region], score: 0.9 }] }, 1, 'v3')).to.deep.equal([
      { result: [region], score: 0.9, model_version: 'v3' },
    ]);
    expect(
      normalizePredictResult({ model_version: 'own', predictions: [{ result: [] }] }, 1, 'v3'),
    ).to.deep.equal([{ result: [], model_version: 'own' }]);
  });

  it('accepts a list of plain dicts and fills missing or falsy versions, keeping extra keys', () => {
    const out = normalizePredictResult(
      [
        { result: [region], score: 0.5 },
        { result: [], model_version: '' },
        { result: [], model_version: 'kept', cluster: 2 },
      ],
      3,
      'v7',
    );
    expect(out).to.deep.equal([
      { result: [region], score: 0.5, model_version: 'v7' },
      { result: [], model_version: 'v7' },
      { result: [], model_version: 'kept', cluster: 2 },
    ]);
  });

  it('fills versions inside a nested list (several predictions for one task)', () => {
    const out = normalizePredictResult([[{ result: [region], score: 0.4 }, { result: [], model_version: 'x' }], { result: [] }], 2, 'v1');
    expect(out).to.deep.equal([
      [
        { result: [region], score: 0.4, model_version: 'v1' },
        { result: [], model_version: 'x' },
      ],
      { result: [], model_version: 'v1' },
    ]);
  });

  it('accepts PredictionValue instances in a plain list and turns numeric versions into strings', () => {
    const out = normalizePredictResult([new PredictionValue({ result: [region] }), { result: [], model_version: 1795358151 }], 2, 'v');
    expect(out).to.deep.equal([
      { model_version: 'v', score: 0, result: [region] },
      { result: [], model_version: '1795358151' },
    ]);
  });

  it('does not mutate the dicts the model returned', () => {
    const prediction = { result: [] };
    normalizePredictResult([prediction], 1, 'v');
    expect(prediction).to.deep.equal({ result: [] });
  });

  it('throws MLB_ERR_PREDICTION_COUNT when the count is neither 0 nor the task count', () => {
    expectModelError(
      () => normalizePredictResult([{ result: [] }], 3, 'v'),
      'MLB_ERR_PREDICTION_COUNT',
      /model returned 1 predictions for 3 tasks/,
    );
    expectModelError(
      () => normalizePredictResult(new ModelResponse({ predictions: [{ result: [] }, { result: [] }] }), 1, 'v'),
      'MLB_ERR_PREDICTION_COUNT',
      /model returned 2 predictions for 1 tasks/,
    );
  });

  it('throws MLB_ERR_MODEL naming the index of a bad prediction', () => {
    expectModelError(() => normalizePredictResult([{ result: [] }, { score: 1 }], 2, 'v'), 'MLB_ERR_MODEL', /predictions\[1\]\.result is undefined/);
    expectModelError(() => normalizePredictResult([{ result: [] }, 'Positive'], 2, 'v'), 'MLB_ERR_MODEL', /predictions\[1\] is string "Positive"/);
    expectModelError(() => normalizePredictResult([[{ result: [] }, null]], 1, 'v'), 'MLB_ERR_MODEL', /predictions\[0\]\[1\] is null/);
    expectModelError(() => normalizePredictResult([{ result: 'x' }], 1, 'v'), 'MLB_ERR_MODEL', /predictions\[0\]\.result is string/);
    expectModelError(() => normalizePredictResult([{ result: [1] }], 1, 'v'), 'MLB_ERR_MODEL', /predictions\[0\]\.result\[0\]/);
    expectModelError(() => normalizePredictResult([{ result: [], score: '0.5' }], 1, 'v'), 'MLB_ERR_MODEL', /score .*must be a number/);
  });

  it('throws MLB_ERR_MODEL for a non-finite number anywhere in a prediction', () => {
    expectModelError(() => normalizePredictResult([{ result: [], score: Number.NaN }], 1, 'v'), 'MLB_ERR_MODEL', /predictions\[0\]\.score is NaN/);
    expectModelError(
      () => normalizePredictResult(new ModelResponse({ predictions: [{ result: [], score: Number.POSITIVE_INFINITY }] }), 1, 'v'),
      'MLB_ERR_MODEL',
      /score is Infinity/,
    );
    expectModelError(
      () => normalizePredictResult([{ result: [{ ...region, value: { x: Number.NaN } }] }], 1, 'v'),
      'MLB_ERR_MODEL',
      /predictions\[0\]\.result\[0\]\.value\.x is NaN/,
    );
  });

  it('throws MLB_ERR_MODEL for shapes that are not predictions', () => {
    expectModelError(() => normalizePredictResult({ result: [] }, 1, 'v'), 'MLB_ERR_MODEL', /expected an array/);
    expectModelError(() => normalizePredictResult({ predictions: 'x' }, 1, 'v'), 'MLB_ERR_MODEL', /not an array/);
    expectModelError(() => normalizePredictResult('Positive', 1, 'v'), 'MLB_ERR_MODEL', /predict\(\) returned string/);
    const circular: Record<string, unknown> = { result: [] };
    circular['self'] = circular;
    expectModelError(() => normalizePredictResult([circular], 1, 'v'), 'MLB_ERR_MODEL', /circular/);
  });
});
