/**
 * Tests of the bench harness's pure parts and of the backend, on the wire. They start no load
 * and run in well under a second: `node --test bench/harness.test.ts`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseTOML } from 'smol-toml';
import type { BenchResults, CaseResult, RunMetrics, ScenarioResult } from '../../bench/bench-results.ts';
import { CASES, caseLoads } from '../../bench/cases.ts';
import { parseBenchOptions } from '../../bench/cli-options.ts';
import { median, medianMetrics } from '../../bench/median-metrics.ts';
import { nginxBackendConf } from '../../bench/nginx-backend-conf.ts';
import { parseProcStat, parseVoluntarySwitches } from '../../bench/proc-stat.ts';
import { reportMarkdown } from '../../bench/report.ts';
import { resultsTable } from '../../bench/results-table.ts';
import { bigCatalogApps, renderTemplate } from '../../bench/ricochet-config.ts';
import { mergeRound, settledEarlier, variantOrder } from '../../bench/run-case.ts';
import { SCENARIOS } from '../../bench/scenarios.ts';
import { parseWrkReport, wrkArgs } from '../../bench/wrk.ts';

const BENCH_DIR = fileURLToPath(new URL('../../bench/', import.meta.url));

const WRK_OUTPUT = `Running 3s test @ http://127.0.0.1:8081/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  310.11us  12.40ms   91.20%
    Req/Sec    44.75k     1.20k   46.10k    70.00%
  Latency Distribution
     50%  990.00us
     75%    1.10ms
     90%    1.30ms
     99%    2.22ms
  134259 requests in 3.00s, 17.29MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  44753.21
Transfer/sec:      5.76MB
`;

test('parseWrkReport reads requests, rate, percentiles in ms and error counts', () => {
  const report = parseWrkReport(WRK_OUTPUT);
  assert.equal(report.requests, 134259);
  assert.equal(report.durationSeconds, 3);
  assert.equal(report.requestsPerSecond, 44753.21);
  assert.equal(report.p50Ms, 0.99);
  assert.equal(report.p99Ms, 2.22);
  assert.equal(report.socketErrors, 6);
  assert.equal(report.non2xx, 7);
});

test('parseWrkReport rejects text without a request count', () => {
  assert.throws(() => parseWrkReport('unable to connect to 127.0.0.1:1 Connection refused'), TypeError);
});

test('wrkArgs passes headers and the script before the url', () => {
  const args = wrkArgs({ url: 'http://127.0.0.1:1/', seconds: 3, connections: 50, threads: 1, core: '1', headers: ['Connection: close'], script: '/x.lua' });
  assert.deepEqual(args, ['-t1', '-c50', '-d3s', '--latency', '-H', 'Connection: close', '-s', '/x.lua', 'http://127.0.0.1:1/']);
});

test('parseProcStat reads cpu ticks and ppid when the command name holds spaces and parens', () => {
  const fields = ['S', '41', '7', '7', '0', '-1', '4194560', '100', '0', '0', '0', '250', '50', '0', '0', '20', '0', '2', '0', '999', '1000', '77'];
  const stat = parseProcStat(`4242 (nginx: worker (x)) ${fields.join(' ')}`);
  assert.deepEqual(stat, { pid: 4242, ppid: 41, cpuTicks: 300, startTicks: 999, rssPages: 77 });
});

test('parseVoluntarySwitches reads the voluntary count, not the nonvoluntary one, and rejects a status without it', () => {
  const status = 'Name:\tnode\nThreads:\t7\nnonvoluntary_ctxt_switches:\t99\nvoluntary_ctxt_switches:\t1234\n';
  assert.equal(parseVoluntarySwitches(status), 1234);
  assert.equal(parseVoluntarySwitches('voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t5'), 0);
  assert.throws(() => parseVoluntarySwitches('Name:\tnode\nnonvoluntary_ctxt_switches:\t99\n'), TypeError);
});

test('medianMetrics takes each median on its own and sums errors', () => {
  const run = (rps: number, p99: number, non2xx: number) => ({
    requestsPerSecond: rps, requests: rps, p50Ms: 1, p99Ms: p99, cpuUsPerRequest: 10, rssMiB: 100,
    core0Busy: 1, core1Busy: null, socketErrors: 0, non2xx,
  });
  const m = medianMetrics([run(3, 9, 1), run(1, 5, 0), run(2, 7, 2)]);
  assert.equal(m.requestsPerSecond, 2);
  assert.equal(m.p99Ms, 7);
  assert.equal(m.core1Busy, null);
  assert.equal(m.non2xx, 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('parseBenchOptions gives --quick its short defaults and rejects a bad count with BENCH_USAGE', () => {
  const quick = parseBenchOptions(['--quick', '--only', 'nginx, direct']);
  assert.equal(quick.runs, 1);
  assert.equal(quick.seconds, 3);
  assert.equal(quick.warmupSeconds, 1);
  assert.deepEqual(quick.only, ['nginx', 'direct']);
  assert.throws(() => parseBenchOptions(['--runs', '0']), { code: 'BENCH_USAGE' });
  assert.throws(() => parseBenchOptions(['--nope']), { code: 'BENCH_USAGE' });
});

test('parseBenchOptions keeps the node backend by default, takes --backend nginx, and names --backend when its value is bad', () => {
  assert.equal(parseBenchOptions([]).backend, 'node');
  assert.equal(parseBenchOptions(['--backend', 'nginx']).backend, 'nginx');
  assert.equal(parseBenchOptions(['--backend=node', '--quick']).backend, 'node');
  assert.throws(() => parseBenchOptions(['--backend', 'apache']), { code: 'BENCH_USAGE', message: /--backend/ });
  assert.throws(() => parseBenchOptions(['--backend']), { code: 'BENCH_USAGE' });
});

test('nginxBackendConf keeps every path in the backend\'s dir and answers fly-replay only in the replay modes', () => {
  const dir = '/tmp/case/backend-0-plain';
  const plain = nginxBackendConf({ port: 4567, mode: 'plain', dir });
  assert.match(plain, /^worker_processes 1;$/m);
  assert.match(plain, /^daemon off;$/m);
  assert.match(plain, /listen 127\.0\.0\.1:4567;/);
  assert.match(plain, /keepalive_requests 1000000;/);
  assert.match(plain, /access_log off;/);
  const paths = [...plain.matchAll(/^\s*(?:pid|\w+_temp_path|alias) (\S+);$/gm)].map((match) => match[1]);
  assert.equal(paths.length, 7);
  for (const file of paths) assert.ok(file.startsWith(`${dir}/`), file);
  assert.doesNotMatch(plain, /fly-replay/);
  const replay = nginxBackendConf({ port: 1, mode: 'replay', dir });
  assert.match(replay, /add_header fly-replay app=target always;/);
  assert.doesNotMatch(replay, /fly-replay-cache/);
  const cached = nginxBackendConf({ port: 1, mode: 'replay-cache', dir });
  assert.match(cached, /add_header fly-replay-cache "\/\*" always;/);
  assert.match(cached, /add_header fly-replay-cache-ttl-secs 60 always;/);
});

test('parseBenchOptions takes runs one case at a time unless --interleave asks for rounds', () => {
  assert.equal(parseBenchOptions([]).interleave, false);
  const interleaved = parseBenchOptions(['--interleave', '--runs', '4']);
  assert.equal(interleaved.interleave, true);
  assert.equal(interleaved.runs, 4);
});

test('renderTemplate fills every placeholder and refuses an unknown one', () => {
  assert.equal(renderTemplate('a={{A_PORT}} b={{A_PORT}}', { A_PORT: 1 }), 'a=1 b=1');
  assert.throws(() => renderTemplate('{{MISSING}}', {}), TypeError);
});

test('the Ricochet templates and the big catalog are valid TOML with the expected apps and machines', () => {
  const values = { API_PORT: 1, PROXY_PORT: 2, BACKEND_PORT: 3, ROUTER_PORT: 4, TARGET_PORT: 5 };
  const plain = parseTOML(renderTemplate(readFileSync(path.join(BENCH_DIR, 'ricochet/plain.toml'), 'utf8'), values));
  const listen = plain.listen as { host: string; api: string; ports: Record<string, number> };
  assert.equal(listen.host, '127.0.0.1');
  assert.equal(listen.api, '127.0.0.1:1');
  assert.equal(listen.ports['80'], 2);
  const replay = parseTOML(renderTemplate(readFileSync(path.join(BENCH_DIR, 'ricochet/replay.toml'), 'utf8'), values)) as {
    apps: { name: string; machines: { address: string }[] }[];
  };
  assert.deepEqual(replay.apps.map((app) => [app.name, app.machines[0].address]), [['router', '127.0.0.1:4'], ['target', '127.0.0.1:5']]);
  const big = parseTOML(bigCatalogApps({ apps: 1000, machines: 100_000, address: '127.0.0.1:3' })) as {
    apps: { name: string; machines: { count: number }[] }[];
  };
  assert.equal(big.apps.length, 999);
  assert.equal(big.apps.reduce((sum, app) => sum + app.machines[0].count, 0), 99_999);
  assert.equal(new Set(big.apps.map((app) => app.name)).size, 999);
});

test('the in-process template gives target, router and cached-router the hosts the case\'s variants send', () => {
  const template = readFileSync(path.join(BENCH_DIR, 'ricochet/in-process.toml'), 'utf8');
  const values = { API_PORT: 1, PROXY_PORT: 2, TARGET_PORT: 3, ROUTER_PORT: 4, CACHED_ROUTER_PORT: 5 };
  const config = parseTOML(renderTemplate(template, values)) as {
    listen: { ports: Record<string, number> };
    apps: { name: string; hostnames: string[]; machines: { address: string }[] }[];
  };
  assert.equal(config.listen.ports['80'], 2);
  assert.equal(config.listen.ports['443'], 0);
  assert.deepEqual(
    config.apps.map((app) => [app.name, app.hostnames, app.machines[0].address]),
    [
      ['target', ['target.localhost'], '127.0.0.1:3'],
      ['router', ['bench.localhost'], '127.0.0.1:4'],
      ['cached-router', ['cached.localhost'], '127.0.0.1:5'],
    ],
  );
  assert.throws(() => renderTemplate(template, { API_PORT: 1, PROXY_PORT: 2, TARGET_PORT: 3, ROUTER_PORT: 4 }), TypeError);

  const spec = CASES.get('ricochet-in-process');
  assert.ok(spec !== undefined);
  // Backends start in template order: the plain target, then the replaying router, then the caching one.
  assert.deepEqual(spec.backends, ['plain', 'replay', 'replay-cache']);
  assert.deepEqual(
    caseLoads(spec).map((load) => [load.id, load.hostHeader]),
    [['in-process-plain', 'target.localhost'], ['in-process-replay', 'bench.localhost'], ['in-process-cached-replay', 'cached.localhost']],
  );
  const scenario = SCENARIOS.get('replay-in-process');
  assert.deepEqual(scenario?.cases, ['ricochet-in-process']);
  assert.deepEqual(scenario?.references, ['in-process-plain']);
});

test('caseLoads gives a case without variants as its own single load', () => {
  const spec = CASES.get('ricochet');
  assert.ok(spec !== undefined);
  assert.deepEqual(caseLoads(spec), [{ id: 'ricochet', label: spec.label, hostHeader: 'bench.localhost' }]);
});

test('variantOrder goes forward in even rounds and backward in odd ones, so each load follows its neighbours equally', () => {
  assert.deepEqual(variantOrder(3, 0), [0, 1, 2]);
  assert.deepEqual(variantOrder(3, 1), [2, 1, 0]);
  assert.deepEqual(variantOrder(3, 4), [0, 1, 2]);
  assert.deepEqual(variantOrder(1, 7), [0]);
  // Over two rounds, load 1 directly precedes load 0 once and load 2 once.
  const sequence = [0, 1].flatMap((round) => variantOrder(3, round));
  const after = (load: number) => sequence.filter((_value, i) => i > 0 && sequence[i - 1] === 1 && sequence[i] === load).length;
  assert.deepEqual([after(0), after(2)], [1, 1]);
  assert.throws(() => variantOrder(0, 0), RangeError);
  assert.throws(() => variantOrder(2, -1), RangeError);
});

function metrics(requestsPerSecond: number, cpuUsPerRequest: number): RunMetrics {
  return {
    requestsPerSecond, requests: requestsPerSecond, p50Ms: 1, p99Ms: 2, cpuUsPerRequest, rssMiB: 80,
    core0Busy: 1, core1Busy: 0.5, socketErrors: 0, non2xx: 0,
  };
}

function okResult(id: string, runs: RunMetrics[], notes: string[] = []): CaseResult {
  return { id, label: id, status: 'ok', reason: null, startupMs: 100, runs, median: runs.length === 0 ? null : medianMetrics(runs), notes };
}

function failedResult(id: string, reason: string): CaseResult {
  return { id, label: id, status: 'failed', reason, startupMs: null, runs: [], median: null, notes: [] };
}

test('mergeRound adds a later round\'s runs under each result id and a failure replaces the earlier result', () => {
  let byId = mergeRound(new Map(), [okResult('a', [metrics(100, 10)], ['slow']), okResult('b', [metrics(50, 20)])]);
  byId = mergeRound(byId, [okResult('a', [metrics(300, 30)], ['slow', 'busy']), failedResult('b', 'exited')]);
  assert.deepEqual([...byId.keys()], ['a', 'b']);
  const a = byId.get('a')!;
  assert.equal(a.runs.length, 2);
  assert.equal(a.median?.requestsPerSecond, 200);
  assert.deepEqual(a.notes, ['slow', 'busy']);
  assert.equal(byId.get('b')?.status, 'failed');
});

test('settledEarlier stops a case from running again once any of its loads failed or was skipped', () => {
  const byId = new Map([['a', okResult('a', [metrics(1, 1)])], ['b', failedResult('b', 'exited')]]);
  assert.equal(settledEarlier(byId, ['a']), false);
  assert.equal(settledEarlier(byId, ['a', 'b']), true);
  assert.equal(settledEarlier(byId, ['new']), false);
});

test('resultsTable divides proxy µs/req by the first reference\'s and shows a dash without it', () => {
  const scenario: ScenarioResult = {
    name: 'replay-in-process', title: 't', description: 'd', references: ['plain'],
    cases: [okResult('plain', [metrics(1000, 40)]), okResult('replay', [metrics(600, 60)]), failedResult('cached', 'exited')],
  };
  const table = resultsTable(scenario);
  const column = table.header.indexOf('µs/req vs plain');
  assert.equal(column, table.header.indexOf('vs plain') + 1);
  assert.deepEqual(table.rows.map((row) => row[column]), ['1.00', '1.50', '—']);
  assert.deepEqual(table.rows.map((row) => row[table.header.indexOf('vs plain')]), ['1.00', '0.60', '—']);
  const withoutReference = resultsTable({ ...scenario, cases: scenario.cases.slice(1) });
  assert.equal(withoutReference.rows[0][column], '—');
  const twoReferences = resultsTable({ ...scenario, references: ['plain', 'replay'] });
  assert.deepEqual(twoReferences.header.filter((name) => name.startsWith('µs/req vs')), ['µs/req vs plain']);
});

test('resultsTable shows sleeps/req with 2 decimals after proxy µs/req, and a dash for results written before it', () => {
  const measured = okResult('a', [{ ...metrics(1000, 40), sleepsPerRequest: 0.987 }]);
  const old = okResult('old', [metrics(1000, 40)]);
  const table = resultsTable({ name: 's', title: 't', description: 'd', references: ['a'], cases: [measured, old, failedResult('f', 'x')] });
  const column = table.header.indexOf('sleeps/req');
  assert.equal(column, table.header.indexOf('proxy µs/req') + 1);
  assert.deepEqual(table.rows.map((row) => row[column]), ['0.99', '—', '—']);
  assert.equal(old.median?.sleepsPerRequest, null);
});

test('reportMarkdown names the backend of the run and takes results without one as the node backend', () => {
  const results: BenchResults = {
    version: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z',
    machine: { cpuModel: 'cpu', cores: 2, kernel: 'k', node: 'v24', tools: {} },
    settings: { runs: 1, seconds: 3, warmupSeconds: 1, idleSeconds: 0, connections: 50, threads: 1, quick: true },
    scenarios: [],
  };
  assert.match(reportMarkdown(results, null), /Backend: \*\*node\*\*.*node:http/);
  const nginx = reportMarkdown({ ...results, settings: { ...results.settings, backend: 'nginx' } }, null);
  assert.match(nginx, /Backend: \*\*nginx\*\*.*nginx, 1 worker/);
});

test('the backend answers 13 bytes, 64 KiB, the upload size, and fly-replay in replay mode', async (t) => {
  const start = async (mode: string) => {
    const child = spawn(process.execPath, [path.join(BENCH_DIR, 'backend.ts'), '--port', '0', '--mode', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill());
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    return Number(/:(\d+) /.exec(line.toString())?.[1]);
  };
  const request = (port: number, method: string, reqPath: string, body?: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path: reqPath, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const plain = await start('plain');
  assert.equal((await request(plain, 'GET', '/')).body.toString(), 'hello, world\n');
  assert.equal((await request(plain, 'GET', '/64k')).body.length, 65536);
  assert.equal((await request(plain, 'POST', '/upload', Buffer.alloc(100_000))).body.toString(), '100000\n');
  const replay = await start('replay-cache');
  const answer = await request(replay, 'GET', '/');
  assert.equal(answer.headers['fly-replay'], 'app=target');
  assert.equal(answer.headers['fly-replay-cache'], '/*');
  assert.equal(answer.headers['fly-replay-cache-ttl-secs'], '60');
  assert.equal(answer.body.length, 0);
});
