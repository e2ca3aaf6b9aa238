import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = resolve(ROOT, 'src/sdk/index.ts');

// A static import or re-export that survives type stripping: `import type` and `export type`
// are erased; `import { type X }` still loads the module, so it counts.
const RUNTIME_IMPORT = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** runtimeGraph follows the runtime imports from `entry` and returns every file and bare specifier reached. */
function runtimeGraph(entry: string): { files: string[]; external: { from: string; specifier: string }[] } {
  const files: string[] = [];
  const external: { from: string; specifier: string }[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (files.includes(file)) continue;
    files.push(file);
    const text = readFileSync(file, 'utf8');
    for (const match of [...text.matchAll(RUNTIME_IMPORT), ...text.matchAll(DYNAMIC_IMPORT)]) {
      const specifier = match[1];
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier));
      else external.push({ from: relative(ROOT, file), specifier });
    }
  }
  return { files: files.map((f) => relative(ROOT, f)), external };
}

test('the SDK loads no node: module and no package at runtime, so it runs on any fetch-API runtime', () => {
  const { files, external } = runtimeGraph(ENTRY);
  assert.deepEqual(external, []);
  assert.ok(files.includes('src/sdk/adapters/hono.ts'));
  assert.ok(files.includes('src/replay/replay-src.ts'), 'the SDK reuses the proxy parsers');
});

test('the SDK reaches no proxy module beyond the pure header and directive-field modules', () => {
  const { files } = runtimeGraph(ENTRY);
  const outside = files.filter((f) => !f.startsWith('src/sdk/'));
  assert.deepEqual(outside.sort(), [
    'src/replay/cache-pattern.ts',
    'src/replay/directive-fields.ts',
    'src/replay/duration.ts',
    'src/replay/replay-parse-error.ts',
    'src/replay/replay-src.ts',
  ]);
});

test('the SDK runs in a bare context with only fetch-API globals: no process, Buffer, require or node: modules', () => {
  const script = resolve(ROOT, 'test/sdk/bare-runtime.ts');
  const run = spawnSync(process.execPath, ['--experimental-vm-modules', '--no-warnings', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    replay: `app=user-42;region="iad,sjc";state=v1.eyJle`,
    verified: { user: 42 },
    fromRequest: true,
    preShared: true,
    honoStatus: 409,
    json: 'application/vnd.fly.replay+json',
    hasProcess: false,
  });
});
