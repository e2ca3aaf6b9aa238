/**
 * End-to-end tests of what a public listener does with a client's HTTP/1.1 before and after the
 * pipeline: request smuggling refused before any machine sees it, HTTP/1.0 clients, HEAD,
 * response framing, absolute-form targets, pipelining, and answers that leave a body unread.
 * test/downstream/ tests the server on its own; these run a whole node.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { RawClient } from '../downstream/http-test-client.ts';
import { rawRequest, startBackend, startNode } from '../harness/index.ts';

async function appNode(t: TestContext) {
  const backend = await startBackend(t, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString();
      switch (req.url) {
        case '/chunked':
          // No Content-Length: node:http frames this with chunks.
          res.write('first,');
          res.end('second');
          return;
        case '/slow':
          setImmediate(() => res.end('slow'));
          return;
        default:
          res.setHeader('content-length', String(Buffer.byteLength(`${req.method} ${req.url} ${body}`)));
          res.end(req.method === 'HEAD' ? undefined : `${req.method} ${req.url} ${body}`);
      }
    });
  });
  const node = await startNode(
    t,
    `region = "ams"
[[apps]]
name = "web"
hostnames = ["web.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
  return { ...node, backend };
}

/** WHOLE matches the end of a whole response to a request for `/`, `/x` … (Content-Length framed). */
const WHOLE = /\r\n\r\n[A-Z]+ \S+ [^\r\n]*$/;

test('a request with both Content-Length and Transfer-Encoding is refused 400 and never reaches a machine', async (t) => {
  const { port, backend } = await appNode(t);
  const answer = await rawRequest(
    port(),
    'POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: web.test\r\n\r\n',
  );
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.match(answer, /\r\nconnection: close\r\n/);
  assert.equal(answer.match(/HTTP\/1\.1/g)?.length, 1, 'the smuggled request is not answered');
  assert.equal(backend.requests.length, 0);
});

test('a request with two different Content-Lengths is refused 400 and never reaches a machine', async (t) => {
  const { port, backend } = await appNode(t);
  const answer = await rawRequest(port(), 'POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.equal(backend.requests.length, 0);
});

test('an HTTP/1.0 client gets a chunked machine response whole, ended by closing the connection', async (t) => {
  const { port } = await appNode(t);
  const answer = await rawRequest(port(), 'GET /chunked HTTP/1.0\r\nHost: web.test\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
  assert.doesNotMatch(answer, /transfer-encoding/i);
  assert.match(answer, /\r\nconnection: close\r\n/);
  assert.ok(answer.endsWith('\r\n\r\nfirst,second'), answer);
});

test('an HTTP/1.1 client gets a machine response without a length in chunks', async (t) => {
  const { port } = await appNode(t);
  const client = await RawClient.open(t, port());
  client.write('GET /chunked HTTP/1.1\r\nHost: web.test\r\n\r\n');
  const res = await client.read();
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  assert.equal(res.body, 'first,second');
});

test('a HEAD request gets the machine\'s Content-Length and no body', async (t) => {
  const { port } = await appNode(t);
  const socket = connect(port(), '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  // The GET after the HEAD shows where the HEAD response ended.
  socket.write('HEAD /h HTTP/1.1\r\nHost: web.test\r\n\r\nGET /g HTTP/1.1\r\nHost: web.test\r\n\r\n');
  let received = '';
  for await (const chunk of socket) {
    received += (chunk as Buffer).toString('latin1');
    if (received.endsWith('GET /g ')) break;
  }
  const [head, next] = received.split(/(?=HTTP\/1\.1 )/g).slice(0, 2);
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /\r\ncontent-length: 8\r\n/);
  assert.ok(head.endsWith('\r\n\r\n'), 'nothing follows the HEAD response head');
  assert.match(next, /\r\n\r\nGET \/g $/);
});

test('pipelined requests are answered in order, even when the first takes longer', async (t) => {
  const { port } = await appNode(t);
  const answer = await rawRequest(
    port(),
    'GET /slow HTTP/1.1\r\nHost: web.test\r\n\r\nGET /after HTTP/1.1\r\nHost: web.test\r\n\r\n',
    WHOLE,
  );
  const bodies = answer.split(/HTTP\/1\.1 200 OK\r\n/).slice(1).map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
  assert.deepEqual(bodies, ['slow', 'GET /after ']);
});

test('an absolute-form target is routed by its authority and reaches the machine in origin form', async (t) => {
  const { port, backend } = await appNode(t);
  const answer = await rawRequest(port(), 'GET http://web.test/abs?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n', WHOLE);
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.equal(backend.requests[0].url, '/abs?q=1');
  assert.equal(backend.requests[0].headers.host, 'web.test');
});

test('an error answered before the body is read arrives whole, and then the connection closes', async (t) => {
  const { port } = await appNode(t);
  const socket = connect(port(), '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  // No app for this host: the answer goes out while the client still sends its body.
  socket.write('POST / HTTP/1.1\r\nHost: nobody.test\r\nContent-Length: 1000000\r\n\r\n');
  socket.write(Buffer.alloc(200_000, 97));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  await once(socket, 'close');
  assert.match(received, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(received, /\r\nconnection: close\r\n/);
  assert.match(received, /RC01: /);
});
