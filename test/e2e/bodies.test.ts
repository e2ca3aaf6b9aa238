import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import { startBackend, startNode } from '../harness/index.ts';

const GIB = 1024 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 7);

async function* bytes(total: number): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += CHUNK.length) yield CHUNK;
}

async function bigBodyNode(t: import('node:test').TestContext) {
  const backend = await startBackend(t, (req, res) => {
    if (req.method === 'POST') {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        hash.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ size, sha256: hash.digest('hex') })));
      return;
    }
    res.writeHead(200, { 'content-length': String(GIB) });
    let sent = 0;
    const pump = () => {
      while (sent < GIB) {
        sent += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  return startNode(
    t,
    `[[apps]]
name = "big"
hostnames = ["big.test"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${backend.address}"
`,
  );
}

test('a 1 GiB upload streams through with bounded memory', async (t) => {
  const { url } = await bigBodyNode(t);
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  t.after(() => clearInterval(sampler));
  const res = await request(url() + '/upload', { method: 'POST', headers: { host: 'big.test' }, body: Readable.from(bytes(GIB)) });
  const answer = (await res.body.json()) as { size: number; sha256: string };
  assert.equal(res.statusCode, 200);
  assert.equal(answer.size, GIB);
  const expected = createHash('sha256');
  for (let i = 0; i < 1024; i++) expected.update(CHUNK);
  assert.equal(answer.sha256, expected.digest('hex'));
  assert.ok(peak - before < 200 * 1024 * 1024, `memory grew by ${Math.round((peak - before) / 1048576)} MiB`);
});

test('a 1 GiB download streams through with bounded memory', async (t) => {
  const { url } = await bigBodyNode(t);
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  t.after(() => clearInterval(sampler));
  const res = await request(url() + '/download', { headers: { host: 'big.test' } });
  let size = 0;
  for await (const chunk of res.body) size += (chunk as Buffer).length;
  assert.equal(res.statusCode, 200);
  assert.equal(size, GIB);
  assert.ok(peak - before < 200 * 1024 * 1024, `memory grew by ${Math.round((peak - before) / 1048576)} MiB`);
});
