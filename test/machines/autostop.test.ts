import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { LoadTracker } from '../../src/balancer/load-tracker.ts';
import { Catalog } from '../../src/catalog/catalog.ts';
import { SqliteStore } from '../../src/catalog/sqlite-store.ts';
import type { Autostop as AutostopMode, Machine, Service } from '../../src/catalog/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { Autostop } from '../../src/machines/autostop.ts';
import { captureLogger, type CapturedLogger } from './capture-logger.ts';
import { testApp, testMachine } from './memory-records.ts';

const INTERVAL_MS = 120_000;

/** RecordingSupervisor records stops and suspends and moves the record on, as the real one does. */
class RecordingSupervisor {
  calls: [action: 'stop' | 'suspend', id: string][] = [];
  #catalog: Catalog;
  constructor(catalog: Catalog) {
    this.#catalog = catalog;
  }
  async stop(id: string): Promise<void> {
    this.calls.push(['stop', id]);
    this.#catalog.update(id, { state: 'stopped', runtime: null });
  }
  async suspend(id: string): Promise<void> {
    this.calls.push(['suspend', id]);
    this.#catalog.update(id, { state: 'suspended', runtime: null });
  }
}

/** FakeTimers records the timers autostop sets; `nextSet` resolves when the next one is set. */
class FakeTimers {
  #next = 0;
  #waiters: (() => void)[] = [];
  pending = new Map<number, { fn: () => void; ms: number }>();
  set = (fn: () => void, ms: number): unknown => {
    const handle = ++this.#next;
    this.pending.set(handle, { fn, ms });
    for (const wake of this.#waiters.splice(0)) wake();
    return handle;
  };
  nextSet(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  clear = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };
}

interface Setup {
  catalog: Catalog;
  load: LoadTracker;
  supervisor: RecordingSupervisor;
  autostop: Autostop;
  timers: FakeTimers;
  log: CapturedLogger;
  clock: { now: number };
}

function setup(t: TestContext): Setup {
  const clock = { now: 0 };
  const now = () => clock.now;
  const catalog = new Catalog(new SqliteStore(':memory:'), { baseDomain: 'localhost', now });
  t.after(() => catalog.close());
  catalog.putApp(testApp({ name: 'tenant', primary_region: 'iad' }));
  const load = new LoadTracker();
  const supervisor = new RecordingSupervisor(catalog);
  const timers = new FakeTimers();
  const log = captureLogger();
  const { config } = parseConfig(`[machines]\nautostop_interval_ms = ${INTERVAL_MS}\n`, 'ricochet.toml');
  const autostop = new Autostop({ catalog, supervisor, load, config, logger: log.logger, now, setTimer: timers.set, clearTimer: timers.clear });
  t.after(() => autostop.stop());
  return { catalog, load, supervisor, autostop, timers, log, clock };
}

/** Spec is one machine of a case: region, autostop setting, in-flight load. */
interface Spec {
  name: string;
  region?: string;
  autostop?: AutostopMode;
  load?: number;
  soft?: number;
  min?: number;
  state?: Machine['state'];
  cordoned?: boolean;
}

/** addMachines puts the machines in the catalog (ids in name order) and holds their load. */
function addMachines(s: Setup, specs: Spec[]): Map<string, string> {
  const ids = new Map<string, string>();
  specs.forEach((spec, index) => {
    const id = `${String(index).padStart(2, '0')}${'0'.repeat(12)}`;
    const service: Service = {
      protocol: 'tcp',
      internal_port: 8080,
      ports: [{ port: 80, handlers: ['http'] }],
      autostop: spec.autostop ?? 'stop',
      concurrency: { type: 'requests', soft_limit: spec.soft ?? 5 },
      ...(spec.min === undefined ? {} : { min_machines_running: spec.min }),
    };
    s.catalog.putMachine(
      testMachine({
        id,
        name: spec.name,
        region: spec.region ?? 'iad',
        state: spec.state ?? 'started',
        cordoned: spec.cordoned ?? false,
        runtime: { host: '127.0.0.1', ports: { '8080': 1 } },
        config: { services: [service] },
      }),
    );
    for (let i = 0; i < (spec.load ?? 0); i++) s.load.acquire(id);
    ids.set(spec.name, id);
  });
  return ids;
}

function names(ids: Map<string, string>, list: string[]): string[] {
  const byId = new Map([...ids].map(([name, id]) => [id, name]));
  return list.map((id) => byId.get(id)!).sort();
}

const cases: { name: string; machines: Spec[]; stopped: string[]; suspended?: string[] }[] = [
  {
    name: 'two idle machines in a region: one is stopped (excess = 2 − (0 + 1) = 1)',
    machines: [{ name: 'a' }, { name: 'b' }],
    stopped: ['a'],
  },
  {
    name: 'three machines, two at their soft limit: excess = 3 − (2 + 1) = 0, none is stopped',
    machines: [{ name: 'a', load: 5 }, { name: 'b', load: 7 }, { name: 'c', load: 1 }],
    stopped: [],
  },
  {
    name: 'three machines, one over its soft limit: the least loaded of them is stopped',
    machines: [{ name: 'a', load: 9 }, { name: 'b', load: 3 }, { name: 'c', load: 1 }],
    stopped: ['c'],
  },
  {
    name: 'the soft limit is the machine service\'s own',
    machines: [{ name: 'a', load: 3, soft: 3 }, { name: 'b', load: 2, soft: 2 }],
    stopped: [],
  },
  {
    name: 'a single machine with no load is stopped',
    machines: [{ name: 'a', region: 'sjc' }],
    stopped: ['a'],
  },
  {
    name: 'a single machine with a request in flight is kept',
    machines: [{ name: 'a', region: 'sjc', load: 1 }],
    stopped: [],
  },
  {
    name: 'each region loses at most one machine per pass',
    machines: [
      { name: 'iad-1' },
      { name: 'iad-2' },
      { name: 'iad-3' },
      { name: 'sjc-1', region: 'sjc' },
      { name: 'sjc-2', region: 'sjc' },
    ],
    stopped: ['iad-1', 'sjc-1'],
  },
  {
    name: 'min_machines_running keeps machines in the primary region',
    machines: [{ name: 'a', min: 2 }, { name: 'b', min: 2 }],
    stopped: [],
  },
  {
    name: 'min_machines_running is not applied outside the primary region',
    machines: [{ name: 'a', region: 'sjc', min: 1 }],
    stopped: ['a'],
  },
  {
    name: 'a suspend service suspends instead of stopping',
    machines: [{ name: 'a', autostop: 'suspend' }, { name: 'b', region: 'sjc' }],
    stopped: ['b'],
    suspended: ['a'],
  },
  {
    name: 'machines with autostop off are ignored',
    machines: [{ name: 'a', autostop: 'off' }, { name: 'b', autostop: 'off' }, { name: 'c', region: 'sjc', autostop: 'off' }],
    stopped: [],
  },
  {
    name: 'machines not started and cordoned machines are neither counted nor stopped',
    machines: [
      { name: 'a', load: 1 },
      { name: 'b', state: 'stopped' },
      { name: 'c', state: 'starting' },
      { name: 'd', cordoned: true },
    ],
    stopped: [],
  },
];

for (const c of cases) {
  test(`autostop pass: ${c.name}`, async (t) => {
    const s = setup(t);
    const ids = addMachines(s, c.machines);
    const result = await s.autostop.pass();
    assert.deepEqual(names(ids, result.stopped), c.stopped);
    assert.deepEqual(names(ids, result.suspended), c.suspended ?? []);
    assert.equal(s.supervisor.calls.length, c.stopped.length + (c.suspended?.length ?? 0));
  });
}

test('successive passes stop one machine per region each until the formula is satisfied', async (t) => {
  const s = setup(t);
  addMachines(s, [{ name: 'a' }, { name: 'b' }, { name: 'c', load: 2 }]);
  assert.equal((await s.autostop.pass()).stopped.length, 1);
  assert.equal((await s.autostop.pass()).stopped.length, 1);
  // One machine with a request in flight is left: it stays until its load is 0.
  assert.equal((await s.autostop.pass()).stopped.length, 0);
  assert.deepEqual(
    s.catalog.machines().filter((m) => m.state === 'started').map((m) => m.name),
    ['c'],
  );
});

test('min_machines_running never takes the primary region below it, counting every started machine there', async (t) => {
  const s = setup(t);
  addMachines(s, [{ name: 'always-on', autostop: 'off' }, { name: 'b', min: 2 }, { name: 'c', min: 2 }]);
  // Three started in the primary region, two of them autostop machines: one can go.
  assert.equal((await s.autostop.pass()).stopped.length, 1);
  // The last autostop machine is idle, but stopping it would leave one machine running.
  assert.equal((await s.autostop.pass()).stopped.length, 0);
  assert.equal(s.catalog.machines().filter((m) => m.state === 'started').length, 2);
});

test('among idle machines the one idle longest is stopped first', async (t) => {
  const s = setup(t);
  const ids = addMachines(s, [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  s.clock.now = 100;
  s.load.acquire(ids.get('b')!)();
  s.clock.now = 200;
  s.load.acquire(ids.get('a')!)();
  // c has never had a request: idle the longest.
  assert.deepEqual(names(ids, (await s.autostop.pass()).stopped), ['c']);
  assert.deepEqual(names(ids, (await s.autostop.pass()).stopped), ['b']);
});

test('each stop is one info log line naming the machine, app, region and reason', async (t) => {
  const s = setup(t);
  const ids = addMachines(s, [{ name: 'a', region: 'sjc' }]);
  await s.autostop.pass();
  const lines = s.log.lines.filter((line) => line.msg === 'autostop: stopping machine');
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, 30);
  assert.deepEqual(
    [lines[0].machine, lines[0].app, lines[0].region, lines[0].reason],
    [ids.get('a'), 'tenant', 'sjc', 'idle'],
  );
});

test('a stop that fails is logged and left out of the result', async (t) => {
  const s = setup(t);
  addMachines(s, [{ name: 'a', region: 'sjc' }]);
  s.supervisor.stop = async () => {
    throw new Error('driver refused');
  };
  const result = await s.autostop.pass();
  assert.deepEqual(result, { stopped: [], suspended: [] });
  assert.ok(s.log.lines.some((line) => line.msg === 'autostop: machine did not stop'));
});

test('start runs a pass every autostop_interval_ms and stop leaves no timer', async (t) => {
  const s = setup(t);
  addMachines(s, [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  s.autostop.start();
  assert.deepEqual([...s.timers.pending.values()].map((timer) => timer.ms), [INTERVAL_MS]);
  assert.equal(s.supervisor.calls.length, 0);

  const [[handle, timer]] = s.timers.pending;
  s.timers.pending.delete(handle);
  const rescheduled = s.timers.nextSet();
  timer.fn();
  // The next pass is scheduled once this one is done.
  await rescheduled;
  assert.equal(s.supervisor.calls.length, 1);
  assert.deepEqual([...s.timers.pending.values()].map((timer) => timer.ms), [INTERVAL_MS]);

  s.autostop.stop();
  assert.equal(s.timers.pending.size, 0);
});
