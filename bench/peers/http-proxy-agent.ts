/**
 * http-proxy-agent runs node-http-proxy inside `http.createServer` with a keep-alive
 * `http.Agent`, as in shared/bench-calibration.md, case 5.
 *
 * Usage: node bench/peers/http-proxy-agent.ts --port <n> --upstream http://127.0.0.1:<port>
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';

const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const AGENT_MAX_SOCKETS = 128;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    upstream: { type: 'string' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || values.upstream === undefined) {
  throw new TypeError('Cannot start http-proxy-agent: --port <n> and --upstream <origin> are required');
}

const agent = new http.Agent({ keepAlive: true, maxSockets: AGENT_MAX_SOCKETS });
const proxy = httpProxy.createProxyServer({ target: values.upstream, agent });
proxy.on('error', (_err, _req, res) => {
  if (!(res instanceof http.ServerResponse)) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'content-type': 'text/plain', 'content-length': 12 });
  res.end('bad gateway\n');
});

const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => proxy.web(req, res));
server.listen(port, values.host, () => {
  process.stdout.write(`http-proxy-agent listening on ${values.host}:${port} -> ${values.upstream}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
    agent.destroy();
  });
}
