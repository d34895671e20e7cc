/**
 * JSON Schemas of every request body: they accept what Label Studio sends (extra fields allowed)
 * and reject what cannot be processed, with an error naming the field.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { MlBackendError } from '../errors.js';

const projectRef = { type: ['string', 'integer', 'null'], maxLength: 4096 } as const;
const labelConfig = { type: 'string', maxLength: 1_000_000 } as const;

const schemas = {
  setup: {
    type: 'object',
    properties: {
      project: projectRef,
      schema: labelConfig,
      hostname: { type: ['string', 'null'] },
      access_token: { type: ['string', 'null'] },
      extra_params: { type: ['object', 'string', 'null'] },
      model_version: { type: ['string', 'integer', 'null'] },
    },
  },
  predict: {
    type: 'object',
    required: ['tasks'],
    properties: {
      tasks: {
        type: ['array', 'object'],
        maxItems: 100_000,
        items: {
          type: 'object',
          properties: { id: { type: ['integer', 'string', 'null'] }, data: { type: 'object' } },
        },
        properties: { data: { type: 'object' } },
      },
      project: projectRef,
      label_config: { type: ['string', 'null'], maxLength: 1_000_000 },
      params: { type: ['object', 'null'] },
      model_version: { type: ['string', 'integer', 'null'] },
    },
  },
  webhook: {
    type: 'object',
    required: ['action'],
    properties: {
      action: { type: 'string', minLength: 1, maxLength: 128 },
    },
    if: { properties: { action: { enum: ['ANNOTATION_CREATED', 'ANNOTATIONS_CREATED', 'ANNOTATION_UPDATED', 'ANNOTATIONS_DELETED', 'ANNOTATION_DELETED', 'START_TRAINING'] } } },
    then: {
      required: ['project'],
      properties: {
        project: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: ['integer', 'string'] }, label_config: labelConfig },
        },
        annotation: { type: ['object', 'array'] },
        annotations: { type: 'array' },
        task: { type: ['object', 'null'] },
      },
    },
  },
  train: {
    type: 'object',
    required: ['annotations'],
    properties: {
      annotations: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'data'],
          properties: {
            id: { type: 'integer' },
            data: { type: 'object' },
            annotations: {
              type: 'array',
              items: { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, result: { type: 'array' } } },
            },
          },
        },
      },
      project: projectRef,
      label_config: { type: ['string', 'null'] },
    },
  },
  jobStatus: {
    type: 'object',
    required: ['job'],
    properties: { job: { type: ['string', 'integer'], minLength: 1, maxLength: 200 } },
  },
  refreshPredictions: {
    type: 'object',
    required: ['project'],
    properties: {
      project: { type: ['string', 'integer'], minLength: 1, maxLength: 4096 },
      only_unlabelled: { type: 'boolean' },
      version: { type: 'string', minLength: 1, maxLength: 200 },
      batch: { type: 'integer', minimum: 1, maximum: 1000 },
    },
  },
  selectVersion: {
    type: 'object',
    properties: {
      project: projectRef,
      version: { type: 'string', minLength: 1, maxLength: 200 },
      model_version: { type: 'string', minLength: 1, maxLength: 200 },
    },
  },
} as const;

export type SchemaName = keyof typeof schemas;

const ajv = new Ajv({ allErrors: false, strict: false });
const validators = Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, ajv.compile(schema)])) as Record<
  SchemaName,
  ValidateFunction
>;

function describe(error: ErrorObject): { field: string; message: string } {
  const base = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const field = error.keyword === 'required' ? [base, (error.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.') : base || '(body)';
  const message = error.keyword === 'required' ? `${field} is required` : `${field} ${error.message ?? 'is invalid'}`;
  return { field, message };
}

/** Returns the body typed as an object, or throws a 400 naming the first bad field. */
export function validateBody(name: SchemaName, body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MlBackendError('MLB_ERR_VALIDATION', 400, 'request body must be a JSON object', { field: '(body)' });
  }
  const validate = validators[name];
  if (!validate(body)) {
    const first = validate.errors?.find((error) => error.keyword !== 'if') ?? validate.errors?.[0];
    const { field, message } = first ? describe(first) : { field: '(body)', message: 'request body is invalid' };
    throw new MlBackendError('MLB_ERR_VALIDATION', 400, message, { field });
  }
  return body as Record<string, unknown>;
}
