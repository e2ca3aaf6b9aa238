// The notes app, one machine per region. Reads are answered where they land; writes, and the
// reads of someone who just wrote, are replayed to the primary region.
import { createServer } from 'node:http';
import { nodeReplay, replaySrcOf } from '../../../src/sdk/index.ts'; // in your app: from 'ricochet/sdk'
import { nowMicros, openNotes } from './notes-db.js';

const REGION = process.env.FLY_REGION;
const PRIMARY = process.env.PRIMARY_REGION;
const IS_PRIMARY = REGION === PRIMARY;
const READ_YOUR_WRITES_US = Number(process.env.READ_YOUR_WRITES_MS ?? 5000) * 1000;
const COOKIE = 'ryw-until';
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const notes = openNotes(process.env.NOTES_DB ?? '.data/notes.db', {
  primary: IS_PRIMARY,
  lagMs: Number(process.env.REPLICATION_LAG_MS ?? 3000),
});

function cookie(req, name) {
  const match = (req.headers.cookie ?? '').match(new RegExp(`(?:^|;\\s*)${name}=(\\d+)`));
  return match === null ? 0 : Number(match[1]);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function answer(res, status, src, extra, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  const replay = src === null ? null : { from: src.region, instance: src.instance, state: src.state ?? null, t: src.t };
  res.end(`${JSON.stringify({ region: REGION, primary: IS_PRIMARY, replay, ...extra }, null, 2)}\n`);
}

createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path !== '/notes') return answer(res, 404, null, { error: 'try GET or POST /notes' });

  if (!IS_PRIMARY) {
    // spec §1.2: replay to the primary region; the state tells the primary why.
    if (WRITES.has(req.method)) return nodeReplay(res, { region: PRIMARY, state: 'write' });
    if (cookie(req, COOKIE) > nowMicros()) return nodeReplay(res, { region: PRIMARY, state: 'read-your-writes' });
  }

  const src = replaySrcOf(req);
  if (req.method === 'GET') return answer(res, 200, src, { notes: notes.list() });
  if (req.method !== 'POST') return answer(res, 405, src, { error: 'GET or POST' });

  const text = (await readBody(req)).trim();
  if (text === '') return answer(res, 400, src, { error: 'send the note as the body' });
  const note = notes.add(text);
  // `t` is when the proxy replayed the write (µs since the epoch, spec §6.1): the moment the
  // client's write left its region. Until the replicas are surely past it, this client reads
  // from the primary. A write that came here directly has no `t`: use the clock.
  const until = (src?.t ?? nowMicros()) + READ_YOUR_WRITES_US;
  const setCookie = `${COOKIE}=${until}; Path=/; Max-Age=${Math.ceil(READ_YOUR_WRITES_US / 1e6)}; HttpOnly; SameSite=Lax`;
  return answer(res, 201, src, { note, readYourWritesUntil: until }, { 'set-cookie': setCookie });
}).listen(Number(process.env.PORT), '127.0.0.1');
