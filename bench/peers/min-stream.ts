/**
 * min-stream is the floor a Node proxy can reach: a `node:http` server in front of one undici
 * `Pool`, using `Pool.stream` so that undici writes the upstream body into the client response
 * with backpressure (shared/bench-calibration.md, case 4). It does no routing at all.
 *
 * Usage: node bench/peers/min-stream.ts --port <n> --upstream http://127.0.0.1:<port>
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const UPSTREAM_KEEP_ALIVE_TIMEOUT_MS = 60_000;
const UPSTREAM_CONNECTIONS = 128;

/** HOP_BY_HOP is the set of headers that belong to one connection (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    upstream: { type: 'string' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || values.upstream === undefined) {
  throw new TypeError('Cannot start min-stream: --port <n> and --upstream <origin> are required');
}

const pool = new Pool(values.upstream, {
  connections: UPSTREAM_CONNECTIONS,
  pipelining: 1,
  keepAliveTimeout: UPSTREAM_KEEP_ALIVE_TIMEOUT_MS,
});

/** connectionTokens lists the header names a `Connection` header marks as hop-by-hop. */
function connectionTokens(value: string | undefined): Set<string> | null {
  if (value === undefined) return null;
  const tokens = new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') tokens.add(name);
  }
  return tokens;
}

/** requestHeaders copies `rawHeaders` as a flat array, minus hop-by-hop headers. */
function requestHeaders(req: http.IncomingMessage): string[] {
  const named = connectionTokens(req.headers.connection);
  const raw = req.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || (named !== null && named.has(name))) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

/** responseHeaders copies undici's response headers, minus hop-by-hop headers. */
function responseHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const connection = headers.connection;
  const named = connectionTokens(Array.isArray(connection) ? connection.join(',') : connection);
  const out: http.OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    if (HOP_BY_HOP.has(name) || (named !== null && named.has(name))) continue;
    out[name] = headers[name];
  }
  return out;
}

function fail(res: http.ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'content-type': 'text/plain', 'content-length': 12 });
  res.end('bad gateway\n');
}

const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
  const bodiless = req.method === 'GET' || req.method === 'HEAD';
  const options: Dispatcher.RequestOptions<http.ServerResponse> = {
    path: req.url ?? '/',
    method: req.method as Dispatcher.HttpMethod,
    headers: requestHeaders(req),
    body: bodiless ? null : req,
    opaque: res,
  };
  pool.stream(options, ({ statusCode, headers, opaque }) => {
    opaque.writeHead(statusCode, responseHeaders(headers));
    return opaque;
  }).catch(() => fail(res));
});

server.listen(port, values.host, () => {
  process.stdout.write(`min-stream listening on ${values.host}:${port} -> ${values.upstream}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close();
    void pool.destroy().then(() => process.exit(0));
  });
}
