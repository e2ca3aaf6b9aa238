/**
 * Runs the SDK in a bare V8 context that has only what a fetch-API runtime (a worker, Deno) has:
 * no process, no Buffer, no require, no node: modules. Each SDK file is type-stripped and linked
 * as an ES module by relative specifier; a bare or `node:` specifier fails the link. Prints one
 * JSON line with what the SDK computed there. Run with --experimental-vm-modules.
 */
import { readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const entry = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/sdk/index.ts');
const context = vm.createContext({
  TextEncoder,
  TextDecoder,
  crypto: globalThis.crypto,
  Headers,
  Request,
  Response,
  URL,
  console,
});
const modules = new Map<string, vm.SourceTextModule>();

function load(file: string): vm.SourceTextModule {
  let module = modules.get(file);
  if (module === undefined) {
    const code = stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' });
    module = new vm.SourceTextModule(code, { identifier: file, context });
    modules.set(file, module);
  }
  return module;
}

const root = load(entry);
await root.link((specifier, referencing) => {
  if (!specifier.startsWith('.')) throw new Error(`the SDK imports "${specifier}" from ${referencing.identifier}`);
  return load(resolve(dirname(referencing.identifier), specifier));
});
await root.evaluate();
context.sdk = root.namespace;
const result = await vm.runInContext(
  `(async () => {
    const key = 'k'.repeat(32);
    const token = await sdk.signState({ user: 42 }, key, { ttlSeconds: 30 });
    const verified = await sdk.verifyState(token, key);
    const request = new Request('http://x/', { headers: { 'fly-replay-src': 'instance=a;region=iad;t=1;state=' + token } });
    return {
      replay: sdk.replay({ app: 'user-42', region: ['iad', 'sjc'], state: token.slice(0, 8) }),
      verified: verified.ok && verified.payload,
      fromRequest: (await sdk.verifySignedReplayState(request, key)).ok,
      preShared: sdk.verifyReplayState(request, token),
      honoStatus: sdk.honoReplay({ app: 'x' }).status,
      json: sdk.replayResponse({ app: 'x' }).headers.get('content-type'),
      hasProcess: typeof process !== 'undefined',
    };
  })()`,
  context,
);
process.stdout.write(`${JSON.stringify(result)}\n`);
