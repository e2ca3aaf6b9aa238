/**
 * The `ricochet` bin from an installed package: Node does not strip types under node_modules, so
 * the package runs its dist/ build. This lays out an installed package offline (the build, bin,
 * package.json and examples under <tmp>/node_modules/ricochet, dependencies linked) and runs it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('the ricochet bin runs from an installed package, using the dist build', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-installed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pkg = join(dir, 'node_modules', 'ricochet');
  mkdirSync(pkg, { recursive: true });
  for (const entry of ['bin', 'examples', 'package.json']) cpSync(join(ROOT, entry), join(pkg, entry), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies)) {
    symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep));
  }
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')]);

  const bin = join(pkg, 'bin', 'ricochet.js');
  const version = await run(process.execPath, [bin, '--version']);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  const check = await run(process.execPath, [bin, 'check', '--config', join(pkg, 'examples', 'dev', 'ricochet.toml')]);
  assert.match(check.stdout, /config ok/);
});
