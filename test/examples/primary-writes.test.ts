import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { send } from '../harness/index.ts';
import { setEnv, startExample } from '../harness/examples.ts';

interface NotesAnswer {
  region: string;
  primary: boolean;
  replay: { from: string; instance: string; state: string | null; t: number } | null;
  notes?: { id: number; text: string }[];
  note?: { id: number; text: string };
  readYourWritesUntil?: number;
}

const READ_YOUR_WRITES_MS = 5000;

test('the primary-writes example, run from its ricochet.toml', async (t) => {
  const { url } = await startExample(t, 'primary-writes', {
    patch: (table, dataDir) => {
      // A replica that never catches up during the test, so what it serves is unambiguous.
      setEnv(table, 'notes', {
        NOTES_DB: join(dataDir, 'notes.db'),
        REPLICATION_LAG_MS: '600000',
        READ_YOUR_WRITES_MS: String(READ_YOUR_WRITES_MS),
      });
    },
  });
  const get = async (headers: Record<string, string> = {}) => {
    const res = await send(url(), { host: 'localhost', path: '/notes', headers });
    assert.equal(res.status, 200);
    return JSON.parse(res.body) as NotesAnswer;
  };

  await t.test('a read is answered in the edge region, from the replica, without a replay', async () => {
    const read = await get();
    assert.equal(read.region, 'sjc');
    assert.equal(read.replay, null);
    assert.deepEqual(read.notes, []);
  });

  let cookie = '';
  await t.test('a write in the secondary region is replayed to the primary with state=write', async () => {
    const before = Date.now() * 1000;
    const res = await send(url(), { host: 'localhost', method: 'POST', path: '/notes', body: 'hello from sjc' });
    assert.equal(res.status, 201);
    const written = JSON.parse(res.body) as NotesAnswer;
    assert.equal(written.region, 'iad');
    assert.equal(written.primary, true);
    assert.equal(written.replay?.from, 'sjc');
    assert.equal(written.replay?.state, 'write');
    assert.equal(written.note?.text, 'hello from sjc');
    const t = written.replay!.t;
    assert.ok(t >= before - 1_000_000 && t <= Date.now() * 1000, `t=${t} is a microsecond timestamp of the replay`);
    assert.equal(written.readYourWritesUntil, t + READ_YOUR_WRITES_MS * 1000, 'the window starts at fly-replay-src t');
    cookie = String(res.headers['set-cookie']).split(';')[0];
    assert.equal(cookie, `ryw-until=${t + READ_YOUR_WRITES_MS * 1000}`);
  });

  await t.test('the writer reads its own write: its reads are replayed to the primary while the window lasts', async () => {
    const read = await get({ cookie });
    assert.equal(read.region, 'iad');
    assert.equal(read.replay?.state, 'read-your-writes');
    assert.deepEqual(read.notes?.map((n) => n.text), ['hello from sjc']);
  });

  await t.test('anyone else reads the lagging replica in the edge region', async () => {
    const read = await get();
    assert.equal(read.region, 'sjc');
    assert.deepEqual(read.notes, []);
  });

  await t.test('once the window has passed, the writer reads the replica again', async () => {
    const read = await get({ cookie: `ryw-until=${Date.now() * 1000 - 1}` });
    assert.equal(read.region, 'sjc');
  });

  await t.test('a write sent to the primary region directly is not replayed', async () => {
    const res = await send(url(), { host: 'localhost', method: 'POST', path: '/notes', body: 'straight to iad', headers: { 'fly-prefer-region': 'iad' } });
    const written = JSON.parse(res.body) as NotesAnswer;
    assert.equal(written.region, 'iad');
    assert.equal(written.replay, null);
    assert.equal((await get({ 'fly-prefer-region': 'iad' })).notes?.length, 2);
  });
});
