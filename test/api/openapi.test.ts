import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderApiDocs } from '../../src/api/render-api-docs.ts';
import { ROUTES } from '../../src/api/routes.ts';
import { startApiNode } from '../harness/api.ts';

test('GET /v1/openapi.json serves an OpenAPI 3.1 document with every route and resolvable $refs', async (t) => {
  const { api } = await startApiNode(t);
  const res = await api.get('/v1/openapi.json');
  assert.equal(res.status, 200);
  const doc = res.body as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
  assert.equal(doc.openapi, '3.1.0');
  for (const route of ROUTES) assert.ok(doc.paths[route.path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`);
  const refs = JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g);
  for (const [, name] of refs) assert.ok(doc.components.schemas[name] !== undefined, `unresolved $ref ${name}`);
});

test('the machine config in the OpenAPI document is the schema requests are validated with', async (t) => {
  const { api } = await startApiNode(t);
  const doc = (await api.get('/v1/openapi.json')).body;
  const config = doc.components.schemas.MachineConfig;
  for (const key of ['services', 'checks', 'env', 'init', 'metadata', 'restart', 'stop_config', 'auto_destroy', 'ricochet']) {
    assert.ok(config.properties[key] !== undefined, key);
  }
  assert.deepEqual(config.properties.ricochet.properties.driver.enum, ['process', 'static']);
  assert.equal(doc.components.schemas.CreateMachineRequest.properties.config.$ref, '#/components/schemas/MachineConfig');
});

test('docs/api.md is what scripts/render-api-docs.ts renders from the route table', () => {
  const onDisk = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  assert.equal(onDisk, renderApiDocs(), 'docs/api.md is stale: run node scripts/render-api-docs.ts');
  for (const route of ROUTES) assert.ok(onDisk.includes(`### \`${route.method} ${route.path}\``), `${route.method} ${route.path}`);
});

test('every route documents a curl example that names its method and path', () => {
  const docs = renderApiDocs();
  const curls = docs.match(/^curl /gm) ?? [];
  assert.equal(curls.length, ROUTES.length);
});

test('every documented example body passes its route\'s own schema', () => {
  for (const route of ROUTES) {
    if (route.example.body === undefined) continue;
    const result = route.body.safeParse(route.example.body);
    assert.ok(result.success, `${route.method} ${route.path}: ${JSON.stringify(result.error?.issues)}`);
  }
});
