/**
 * backend is the benchmark's upstream: a plain `node:http` server, as in
 * shared/bench-calibration.md "Method".
 *
 * Usage: node bench/backend.ts --port <n> [--mode plain|replay|replay-cache]
 *
 * - plain: `GET /` answers 13 bytes, `GET /64k` answers 65536 bytes, any request with a body
 *   (the upload scenario) answers the number of body bytes it received.
 * - replay: every request answers 200 with `fly-replay: app=target` and an empty body.
 * - replay-cache: as replay, plus `fly-replay-cache: /*` and `fly-replay-cache-ttl-secs: 60`
 *   (spec §5.3), so that a proxy with a replay cache can skip this backend after the first hit.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';

const HELLO_BODY = Buffer.from('hello, world\n');
const BODY_64K_BYTES = 65536;
const BODY_64K = Buffer.alloc(BODY_64K_BYTES, 'x');
/** KEEP_ALIVE_TIMEOUT_MS is raised so that no keep-alive connection closes during a run. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const MODES = ['plain', 'replay', 'replay-cache'] as const;
type BackendMode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    mode: { type: 'string', default: 'plain' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new TypeError(`Cannot start backend: --port must be an integer 0-65535, got "${values.port}"`);
}
if (!(MODES as readonly string[]).includes(values.mode)) {
  throw new TypeError(`Cannot start backend: --mode must be one of ${MODES.join(', ')}, got "${values.mode}"`);
}
const mode = values.mode as BackendMode;

const replayHeaders: Record<string, string> = { 'fly-replay': 'app=target', 'content-length': '0' };
if (mode === 'replay-cache') {
  replayHeaders['fly-replay-cache'] = '/*';
  replayHeaders['fly-replay-cache-ttl-secs'] = '60';
}

/** hasBody tells whether the request announces a body (RFC 9112 §6.3). */
function hasBody(req: http.IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

function answerPlain(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (hasBody(req)) {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    req.on('end', () => {
      const body = `${bytes}\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  const body = req.url === '/64k' ? BODY_64K : HELLO_BODY;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}

function answerReplay(req: http.IncomingMessage, res: http.ServerResponse): void {
  // Drain any body so the connection stays usable for the next request.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, replayHeaders);
    res.end();
  });
}

const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, mode === 'plain' ? answerPlain : answerReplay);
server.listen(port, values.host, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  process.stdout.write(`backend listening on ${values.host}:${bound} mode=${mode}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
