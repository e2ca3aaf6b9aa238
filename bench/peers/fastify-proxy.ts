/**
 * fastify-proxy runs `@fastify/http-proxy` with the logger off and undici pool limits raised, as
 * in shared/bench-calibration.md, case 6.
 *
 * Usage: node bench/peers/fastify-proxy.ts --port <n> --upstream http://127.0.0.1:<port>
 */
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import httpProxy from '@fastify/http-proxy';

const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** UPLOAD_LIMIT_BYTES lets the 1 MiB upload scenario through (fastify's default is 1 MiB exactly). */
const UPLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    upstream: { type: 'string' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || values.upstream === undefined) {
  throw new TypeError('Cannot start fastify-proxy: --port <n> and --upstream <origin> are required');
}

const app = Fastify({ logger: false, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, bodyLimit: UPLOAD_LIMIT_BYTES });
await app.register(httpProxy, {
  upstream: values.upstream,
  undici: { connections: 128, pipelining: 1 },
});
await app.listen({ port, host: values.host });
process.stdout.write(`fastify-proxy listening on ${values.host}:${port} -> ${values.upstream}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
