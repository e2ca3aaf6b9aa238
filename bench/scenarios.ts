/**
 * SCENARIOS are the workloads: what wrk sends, which cases run it, and which cases the others are
 * compared with. A scenario's probe checks, before any load, that a case answers correctly
 * (a fast wrong answer must not look like a fast proxy).
 */
import { BIG_CATALOG_APPS, BIG_CATALOG_MACHINES } from './cases.ts';

const HELLO = 'hello, world\n';
const BODY_64K_BYTES = 65536;
const UPLOAD_BYTES = 1024 * 1024;

/** Probe is one request sent through a case before measuring, and its check. */
export interface Probe {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  /** check returns what is wrong with the answer, or null when it is right. */
  check(status: number, body: Buffer): string | null;
}

/** Scenario is one workload and its cases. */
export interface Scenario {
  name: string;
  title: string;
  /** What is measured, and what it is compared with (goes into the report). */
  description: string;
  /** Case ids, in table order (a case with variants gives a row per variant). */
  cases: string[];
  /** Result ids (case or variant ids) the ratio columns divide by ("vs nginx", "vs direct"). */
  references: string[];
  /** Request path wrk loads. */
  path: string;
  /** Extra `-H` headers for wrk (the probe sends the same). */
  headers: string[];
  /** Lua script for wrk, relative to bench/, or null. */
  script: string | null;
  probe: Probe;
}

function expectBody(expected: string | number) {
  return (status: number, body: Buffer): string | null => {
    if (status !== 200) return `status ${status}, expected 200 (body: ${JSON.stringify(body.toString('utf8').slice(0, 200))})`;
    if (typeof expected === 'number') {
      return body.length === expected ? null : `body of ${body.length} bytes, expected ${expected}`;
    }
    const text = body.toString('utf8');
    return text === expected ? null : `body ${JSON.stringify(text.slice(0, 200))}, expected ${JSON.stringify(expected)}`;
  };
}

const getHello: Probe = { method: 'GET', path: '/', headers: {}, body: null, check: expectBody(HELLO) };

const PEERS = ['direct', 'nginx', 'haproxy', 'caddy', 'min-stream', 'fastify', 'http-proxy', 'lean-pipe', 'ricochet'];
const PEER_REFERENCES = ['nginx', 'direct'];

const SCENARIO_LIST: Scenario[] = [
  {
    name: 'small',
    title: '13-byte body, keep-alive (`GET /`)',
    description: 'HTTP/1.1 keep-alive, 50 connections, 13-byte response. The proxy runs alone on core 0; the backend and wrk share core 1.',
    cases: PEERS,
    references: PEER_REFERENCES,
    path: '/',
    headers: [],
    script: null,
    probe: getHello,
  },
  {
    name: '64k',
    title: '64 KiB body, keep-alive (`GET /64k`)',
    description: 'As `small`, with a 65,536-byte response body.',
    cases: PEERS,
    references: PEER_REFERENCES,
    path: '/64k',
    headers: [],
    script: null,
    probe: { method: 'GET', path: '/64k', headers: {}, body: null, check: expectBody(BODY_64K_BYTES) },
  },
  {
    name: 'upload-1m',
    title: '1 MiB upload, keep-alive (`POST /upload`)',
    description: 'Every request POSTs a 1 MiB body (bench/upload-1m.lua); the backend answers the byte count.',
    cases: PEERS,
    references: PEER_REFERENCES,
    path: '/upload',
    headers: [],
    script: 'upload-1m.lua',
    probe: {
      method: 'POST',
      path: '/upload',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(UPLOAD_BYTES, 'x'),
      check: expectBody(`${UPLOAD_BYTES}\n`),
    },
  },
  {
    name: 'new-conn',
    title: 'a new connection per request (`Connection: close`)',
    description: 'wrk sends `Connection: close`, so every request opens a new client connection; upstream connections stay pooled where the peer pools them.',
    cases: PEERS,
    references: PEER_REFERENCES,
    path: '/',
    headers: ['Connection: close'],
    script: null,
    probe: { ...getHello, headers: { connection: 'close' } },
  },
  {
    name: 'replay',
    title: 'replay round trip (router -> `fly-replay: app=target` -> target)',
    description:
      'App "router" answers every request with `fly-replay: app=target` and an empty body; Ricochet re-runs the request against app "target" (the plain backend). ' +
      'Compared with Ricochet proxying `GET /` straight to the backend (the `small` workload, fresh processes in this scenario), ' +
      'not with two client-made requests: the client cannot make the second hop without the proxy. The calibration measured 0.60x for a minimal Node replay.',
    cases: ['ricochet', 'ricochet-replay'],
    references: ['ricochet'],
    path: '/',
    headers: [],
    script: null,
    probe: getHello,
  },
  {
    name: 'cached-replay',
    title: 'cached replay (`fly-replay-cache: /*`, TTL 60 s)',
    description:
      'As `replay`, but the router also sends `fly-replay-cache: /*` and `fly-replay-cache-ttl-secs: 60` (spec §5.3), so after the first replay Ricochet ' +
      'should go straight to the target. Compared with plain Ricochet `GET /`.',
    cases: ['ricochet', 'ricochet-cached-replay'],
    references: ['ricochet'],
    path: '/',
    headers: [],
    script: null,
    probe: getHello,
  },
  {
    name: 'replay-in-process',
    title: 'replay and cached replay against a plain request, in one Ricochet process',
    description:
      'One Ricochet process (bench/ricochet/in-process.toml) serves three loads, told apart by the Host header: `target.localhost` is proxied ' +
      'straight to the plain backend (app "target"); `bench.localhost` goes to app "router", whose backend answers `fly-replay: app=target`, ' +
      'so Ricochet replays it to "target"; `cached.localhost` goes to app "cached-router", which also sends `fly-replay-cache: /*`, so after ' +
      'the first replay Ricochet goes straight to "target". After a warm-up of each, every round measures each load once, forward and ' +
      'backward in turn (0 1 2, 2 1 0), each run after 1 s of the same load unmeasured, so drift in the machine\'s load and what one load ' +
      'leaves behind fall on all three alike (separate processes, as in `replay` and `cached-replay`, differ by up to 25 % on a noisy machine). `µs/req vs in-process-plain` is the issue\'s ratio: Ricochet\'s CPU per replayed request ' +
      'against its CPU per plain request.',
    cases: ['ricochet-in-process'],
    references: ['in-process-plain'],
    path: '/',
    headers: [],
    script: null,
    probe: getHello,
  },
  {
    name: 'big-catalog',
    title: `big catalog (${BIG_CATALOG_APPS.toLocaleString('en-US')} apps, ${BIG_CATALOG_MACHINES.toLocaleString('en-US')} static machines)`,
    description:
      `Ricochet with ${BIG_CATALOG_APPS.toLocaleString('en-US')} apps/hostnames and ${BIG_CATALOG_MACHINES.toLocaleString('en-US')} static machines generated into the config, ` +
      'loading app "bench" (one machine) with `GET /`; compared with plain Ricochet `small`. The notes give the config size and how long Ricochet took to be ready.',
    cases: ['ricochet', 'ricochet-big-catalog'],
    references: ['ricochet'],
    path: '/',
    headers: [],
    script: null,
    probe: getHello,
  },
];

/** SCENARIOS maps a scenario name to its definition, in run order. */
export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map(SCENARIO_LIST.map((scenario) => [scenario.name, scenario]));
