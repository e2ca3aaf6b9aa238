/**
 * openApiDocument builds the Machines API's OpenAPI 3.1 document from the route table and the
 * zod schemas the server validates with (schemas.ts), so the document is what the server does.
 * Request and response bodies are `components.schemas` entries generated with
 * `z.toJSONSchema(…, { io: 'input' })`: the shapes clients send (and read back).
 */
import { z } from 'zod';
import { API_ERROR_CODES, type ApiErrorCode } from './api-error.ts';
import type { Route } from './route.ts';
import * as schemas from './schemas.ts';

/** NAMED_SCHEMAS gives the shared schemas their component names. */
const NAMED_SCHEMAS: [z.ZodType, string][] = [
  [schemas.apiMachineConfigSchema, 'MachineConfig'],
  [schemas.machineSchema, 'Machine'],
  [schemas.machineListSchema, 'MachineList'],
  [schemas.errorSchema, 'Error'],
  [schemas.okSchema, 'Ok'],
  [schemas.createAppSchema, 'CreateAppRequest'],
  [schemas.appCreatedSchema, 'AppCreated'],
  [schemas.appSchema, 'App'],
  [schemas.appListSchema, 'AppList'],
  [schemas.createMachineSchema, 'CreateMachineRequest'],
  [schemas.updateMachineSchema, 'UpdateMachineRequest'],
  [schemas.stopMachineSchema, 'StopMachineRequest'],
  [schemas.startResultSchema, 'StartResult'],
  [schemas.acquireLeaseSchema, 'AcquireLeaseRequest'],
  [schemas.leaseSchema, 'Lease'],
  [schemas.setMetadataSchema, 'SetMetadataRequest'],
  [schemas.metadataSchema, 'Metadata'],
  [schemas.cacheEntriesSchema, 'ReplayCacheEntries'],
  [schemas.cachePurgedSchema, 'ReplayCachePurged'],
];

/** COMMON_ERRORS are answered by any route that takes a body, and by every route that needs a token. */
const BODY_ERRORS: ApiErrorCode[] = ['invalid_json', 'unsupported_media_type', 'body_too_large', 'validation_failed'];

type Json = Record<string, unknown>;

export interface OpenApiOptions {
  version: string;
}

export function openApiDocument(routes: readonly Route[], options: OpenApiOptions): Json {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  const name = (schema: z.ZodType, fallback: string): string => {
    let id = names.get(schema);
    if (id === undefined) {
      id = fallback;
      names.set(schema, id);
      registry.add(schema, { id });
    }
    return id;
  };
  for (const [schema, id] of NAMED_SCHEMAS) name(schema, id);

  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const operation: Json = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
    };
    if (route.description !== undefined) operation.description = route.description;
    const parameters = [...pathParameters(route.path), ...queryParameters(route)];
    if (parameters.length > 0) operation.parameters = parameters;
    if (route.body !== undefined) {
      operation.requestBody = {
        required: route.bodyRequired === true,
        content: { 'application/json': { schema: ref(name(route.body, `${route.operationId}_request`)) } },
      };
    }
    const responses: Json = {};
    responses[String(route.ok.status)] = {
      description: route.ok.description,
      ...(route.ok.schema === undefined
        ? {}
        : { content: { 'application/json': { schema: ref(name(route.ok.schema, `${route.operationId}_response`)) } } }),
    };
    for (const [status, codes] of errorStatuses(route)) {
      responses[String(status)] = {
        description: codes.map((code) => `\`${code}\`: ${API_ERROR_CODES[code].summary}`).join('; '),
        content: { 'application/json': { schema: ref('Error') } },
      };
    }
    operation.responses = responses;
    if (route.public === true) operation.security = [];
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = operation;
  }

  const generated = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  const components: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    const { $schema: _schema, $id: _id, ...rest } = schema;
    components[id] = rest;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Ricochet Machines API',
      version: options.version,
      description:
        "A subset of Fly.io's Machines API (https://fly.io/docs/machines/api/), served by every Ricochet node at `[listen] api`. Ricochet-only fields live under the `ricochet` key.",
    },
    servers: [{ url: 'http://127.0.0.1:4280', description: 'A node with the default `[listen] api`' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Required when `[api] token` or RICOCHET_API_TOKEN is set.' },
      },
    },
  };
}

function ref(id: string): Json {
  return { $ref: `#/components/schemas/${id}` };
}

function pathParameters(path: string): Json[] {
  const DESCRIPTIONS: Record<string, string> = {
    app: 'App name.',
    id: 'Machine id (14 hex characters).',
    key: 'Metadata key.',
  };
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, param]) => ({
    name: param,
    in: 'path',
    required: true,
    description: DESCRIPTIONS[param] ?? param,
    schema: { type: 'string' },
  }));
}

function queryParameters(route: Route): Json[] {
  if (route.query === undefined) return [];
  const shape = (route.query as z.ZodObject).shape as Record<string, z.ZodType>;
  const parameters: Json[] = Object.entries(shape).map(([key, field]) => {
    const { $schema: _schema, description, default: _default, ...schema } = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as Json;
    return {
      name: key,
      in: 'query',
      required: !field.safeParse(undefined).success,
      ...(description === undefined ? {} : { description }),
      schema,
    };
  });
  if (route.operationId === 'Machines_list') {
    parameters.push({
      name: 'metadata.{key}',
      in: 'query',
      required: false,
      description: 'Only machines whose `config.metadata[key]` equals the value, e.g. `metadata.tenant=42`.',
      schema: { type: 'string' },
    });
  }
  return parameters;
}

/** errorStatuses groups the error codes a route can answer by status. */
function errorStatuses(route: Route): [number, ApiErrorCode[]][] {
  const codes = new Set<ApiErrorCode>(route.errors);
  if (route.public !== true) codes.add('unauthorized');
  if (route.body !== undefined) for (const code of BODY_ERRORS) codes.add(code);
  if (route.query !== undefined) codes.add('invalid_request');
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) {
    const status = API_ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus].sort(([a], [b]) => a - b);
}
