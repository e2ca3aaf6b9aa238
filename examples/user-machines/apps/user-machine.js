// A user's machine. Public service (port 80 -> $RICOCHET_PORT_8080): the user's page and a
// WebSocket live preview at /live. Management service (port 9090 -> $RICOCHET_PORT_9090): PUT
// /content replaces the page (think: code an LLM generated) and every open preview updates.
// Both accept only requests replayed by the router with this app's key (the blueprint's
// authentication); the content is kept on disk, so it survives the machine stopping.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { nodeRequireReplayState, verifyReplayState } from '../../../src/sdk/index.ts'; // in your app: from 'ricochet/sdk'

const USER = process.env.USER_NAME;
const KEY = process.env.STATE_KEY;
const requireRouter = nodeRequireReplayState(KEY);
const dataDir = process.env.DATA_DIR ?? '.data';
mkdirSync(dataDir, { recursive: true });
const contentFile = join(dataDir, 'content.html');
let content;
try {
  content = readFileSync(contentFile, 'utf8');
} catch {
  content = `<h1>Hello from ${USER}'s machine</h1>`;
}

const previews = new WebSocketServer({ noServer: true });

function page() {
  return `<!doctype html>
<title>${USER}</title>
<main id="content">${content}</main>
<p><small>machine ${process.env.FLY_MACHINE_ID}, live preview: <span id="live">connecting</span></small></p>
<script>
  const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/live');
  ws.onopen = () => (document.getElementById('live').textContent = 'on');
  ws.onclose = () => (document.getElementById('live').textContent = 'off');
  ws.onmessage = (event) => (document.getElementById('content').innerHTML = event.data);
</script>
`;
}

const publicServer = createServer((req, res) => {
  if (!requireRouter(req, res)) return;
  if (req.method !== 'GET' || new URL(req.url, 'http://x').pathname !== '/') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page());
});

publicServer.on('upgrade', (req, socket, head) => {
  if (!verifyReplayState(req, KEY) || req.url !== '/live') {
    socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  previews.handleUpgrade(req, socket, head, (ws) => ws.send(content));
});

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const managementServer = createServer(async (req, res) => {
  if (!requireRouter(req, res)) return;
  const path = new URL(req.url, 'http://x').pathname;
  if (req.method === 'PUT' && path === '/content') {
    content = await readBody(req);
    writeFileSync(contentFile, content);
    for (const client of previews.clients) client.send(content);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify({ ok: true, previews: previews.clients.size })}\n`);
    return;
  }
  if (req.method === 'GET' && path === '/status') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify({ user: USER, machine: process.env.FLY_MACHINE_ID, previews: previews.clients.size, bytes: content.length })}\n`);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('management: PUT /content, GET /status\n');
});

publicServer.listen(Number(process.env.RICOCHET_PORT_8080), '127.0.0.1');
managementServer.listen(Number(process.env.RICOCHET_PORT_9090), '127.0.0.1');
