import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  atHardLimit,
  candidates,
  loadBucket,
  type CandidateQuery,
  type MachineView,
  type RegionChoice,
} from '../../src/balancer/candidates.ts';
import { closeness } from '../../src/balancer/closeness.ts';

// iad is this node's region; ord and dfw are equally far, then sjc, then ams.
const rtt = closeness({ iad: 0, ord: 20, dfw: 20, sjc: 60, ams: 80 }, 'iad');

/** machine builds a started, healthy machine with soft 10 / hard 20 unless told otherwise. */
function machine(id: string, region: string, overrides: Partial<MachineView> = {}): MachineView {
  return {
    id,
    region,
    state: 'started',
    healthy: true,
    cordoned: false,
    load: 0,
    softLimit: 10,
    hardLimit: 20,
    autostart: true,
    ...overrides,
  };
}

const stopped = { state: 'stopped' } as const;
const soft = { load: 15 } as const;
const atHard = { load: 20 } as const;

/** sequence returns a random() that replays `values`, then repeats the last one. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)];
}

/** order runs the query and writes each candidate as its id, with "+" when it needs a start. */
function order(query: Partial<CandidateQuery> & { machines: readonly MachineView[] }): string[] {
  const full: CandidateQuery = { rtt, random: () => 0.5, ...query };
  return [...candidates(full)].map((c) => c.machine.id + (c.needsStart ? '+' : ''));
}

const regions = (...choices: (string[] | 'any')[]): RegionChoice[] =>
  choices.map((c) => (c === 'any' ? { kind: 'any' } : { kind: 'regions', regions: c }));

interface Case {
  name: string;
  machines: MachineView[];
  query?: Omit<Partial<CandidateQuery>, 'machines'>;
  expected: string[];
}

const cases: Case[] = [
  // Closeness and load buckets (spec §8.2)
  {
    name: 'a local machine below soft limit comes before a remote one',
    machines: [machine('remote', 'sjc'), machine('local', 'iad')],
    expected: ['local', 'remote'],
  },
  {
    name: 'the least loaded local machine below soft limit comes first',
    machines: [machine('busy', 'iad', { load: 7 }), machine('idle', 'iad', { load: 1 })],
    expected: ['idle', 'busy'],
  },
  {
    name: 'a local machine over its soft limit still beats an idle remote machine',
    machines: [machine('local', 'iad', soft), machine('remote', 'sjc')],
    expected: ['local', 'remote'],
  },
  {
    name: 'local machines below soft limit come before local machines over it',
    machines: [machine('over', 'iad', soft), machine('under', 'iad', { load: 9 }), machine('remote', 'sjc')],
    expected: ['under', 'over', 'remote'],
  },
  {
    name: 'machines over soft limit are ordered by load too',
    machines: [machine('worse', 'iad', { load: 18 }), machine('bad', 'iad', { load: 12 })],
    expected: ['bad', 'worse'],
  },
  {
    name: 'traffic crosses regions when every local machine is unhealthy',
    machines: [machine('sick', 'iad', { healthy: false }), machine('remote', 'sjc')],
    expected: ['remote'],
  },
  {
    name: 'traffic crosses regions when every local machine is at its hard limit',
    machines: [machine('full', 'iad', atHard), machine('remote', 'sjc')],
    expected: ['remote'],
  },
  {
    name: 'traffic crosses regions when local machines are stopped and autostart is off',
    machines: [machine('off', 'iad', { ...stopped, autostart: false }), machine('remote', 'sjc')],
    expected: ['remote'],
  },
  {
    name: 'the nearest remote region is tried before farther ones',
    machines: [machine('ams', 'ams'), machine('sjc', 'sjc'), machine('ord', 'ord')],
    expected: ['ord', 'sjc', 'ams'],
  },
  {
    name: 'regions at equal distance form one group whose soft limits apply together',
    machines: [machine('ord-over', 'ord', soft), machine('dfw-under', 'dfw'), machine('far', 'sjc')],
    expected: ['dfw-under', 'ord-over', 'far'],
  },
  {
    name: 'a machine without a hard limit is never full',
    machines: [machine('unbounded', 'iad', { load: 5000, hardLimit: null }), machine('remote', 'sjc')],
    expected: ['unbounded', 'remote'],
  },
  {
    name: 'machines that are neither started nor startable are never yielded',
    machines: [
      machine('destroyed', 'iad', { state: 'destroyed' }),
      machine('failed', 'iad', { state: 'failed' }),
      machine('destroying', 'iad', { state: 'destroying' }),
    ],
    expected: [],
  },
  {
    name: 'a machine being stopped or suspended is woken again only when nothing else is left',
    machines: [
      machine('stopping', 'iad', { state: 'stopping' }),
      machine('suspending', 'iad', { state: 'suspending' }),
      machine('over', 'iad', soft),
      machine('remote', 'sjc', atHard),
      machine('remote-cold', 'sjc', stopped),
    ],
    expected: ['over', 'remote-cold+', 'suspending+', 'stopping+'],
  },
  {
    name: 'a stopping machine with autostart off is never woken',
    machines: [machine('stopping', 'iad', { state: 'stopping', autostart: false })],
    expected: [],
  },

  // Autostart (spec §9 "Start")
  {
    name: 'a stopped machine is started when nothing is running',
    machines: [machine('cold', 'iad', stopped)],
    expected: ['cold+'],
  },
  {
    name: 'the nearest stopped machine is started first when nothing is running',
    machines: [machine('far', 'ams', stopped), machine('near', 'ord', stopped), machine('local', 'iad', stopped)],
    expected: ['local+', 'near+', 'far+'],
  },
  {
    name: 'a stopped machine is started when every running local machine is over its soft limit',
    machines: [machine('over', 'iad', soft), machine('cold', 'iad', stopped)],
    expected: ['cold+', 'over'],
  },
  {
    name: 'a local machine over its soft limit is used before a remote stopped machine is started',
    machines: [machine('over', 'iad', soft), machine('cold', 'sjc', stopped)],
    expected: ['over', 'cold+'],
  },
  {
    name: 'no machine is started while a running machine in the closest region is below soft limit',
    machines: [machine('cold', 'iad', stopped), machine('under', 'iad', { load: 3 }), machine('over', 'iad', soft)],
    expected: ['under', 'cold+', 'over'],
  },
  {
    name: 'a local stopped machine is started before an idle remote machine is used',
    machines: [machine('cold', 'iad', stopped), machine('remote', 'sjc')],
    expected: ['cold+', 'remote'],
  },
  {
    name: 'a stopped machine in an equally close region is woken before its peers over soft limit',
    machines: [machine('cold', 'ord', stopped), machine('dfw', 'dfw', soft), machine('ams', 'ams')],
    expected: ['cold+', 'dfw', 'ams'],
  },
  {
    name: 'a machine already starting is joined before another one is started',
    machines: [machine('cold', 'iad', stopped), machine('warming', 'iad', { state: 'starting' })],
    expected: ['warming+', 'cold+'],
  },
  {
    name: 'a suspended machine is resumed before a stopped one is started',
    machines: [machine('cold', 'iad', stopped), machine('asleep', 'iad', { state: 'suspended' })],
    expected: ['asleep+', 'cold+'],
  },
  {
    name: 'a created machine that never ran can be started',
    machines: [machine('fresh', 'iad', { state: 'created' })],
    expected: ['fresh+'],
  },
  {
    name: 'a machine with autostart off is never started',
    machines: [machine('manual', 'iad', { ...stopped, autostart: false })],
    expected: [],
  },
  {
    name: 'a stopped machine is started even when the running ones are unhealthy',
    machines: [machine('sick', 'iad', { healthy: false }), machine('cold', 'iad', stopped)],
    expected: ['cold+'],
  },

  {
    name: 'a local stopped machine is started before traffic crosses for a local machine at its hard limit',
    machines: [machine('full', 'iad', atHard), machine('cold', 'iad', stopped), machine('remote', 'sjc')],
    expected: ['cold+', 'remote'],
  },
  {
    name: 'a local stopped machine is started before traffic crosses for an unhealthy local machine',
    machines: [machine('remote', 'sjc'), machine('sick', 'iad', { healthy: false }), machine('cold', 'iad', stopped)],
    expected: ['cold+', 'remote'],
  },
  {
    name: 'a remote machine is started only once no local machine is usable or startable',
    machines: [machine('full', 'iad', atHard), machine('cold-remote', 'sjc', stopped), machine('far', 'ams')],
    expected: ['cold-remote+', 'far'],
  },
  {
    name: 'a remote region is used below soft limit before its own stopped machines are started',
    machines: [machine('full', 'iad', atHard), machine('remote', 'sjc', { load: 3 }), machine('cold-remote', 'sjc', stopped)],
    expected: ['remote', 'cold-remote+'],
  },

  // Cordons (spec §8.2.10)
  {
    name: 'a cordoned machine never gets traffic, running or stopped',
    machines: [
      machine('cordoned', 'iad', { cordoned: true }),
      machine('cordoned-cold', 'iad', { ...stopped, cordoned: true }),
      machine('remote', 'sjc'),
    ],
    expected: ['remote'],
  },

  // accept (design doc: elsewhere, instance targets, retries)
  {
    name: 'machines the caller does not accept are skipped',
    machines: [machine('self', 'iad'), machine('other', 'iad', { load: 4 })],
    query: { accept: (m) => m.id !== 'self' },
    expected: ['other'],
  },
  {
    name: 'rejecting every local machine moves traffic to the next region',
    machines: [machine('self', 'iad'), machine('remote', 'sjc')],
    query: { accept: (m) => m.id !== 'self' },
    expected: ['remote'],
  },
  {
    name: 'accept picks one instance out of the app',
    machines: [machine('a', 'iad'), machine('target', 'sjc'), machine('c', 'ord')],
    query: { accept: (m) => m.id === 'target' },
    expected: ['target'],
  },
  {
    name: 'an instance target at its hard limit yields nothing, so the caller falls back (spec §1.5)',
    machines: [machine('a', 'iad'), machine('target', 'iad', atHard)],
    query: { accept: (m) => m.id === 'target' },
    expected: [],
  },
  {
    name: 'a stopped instance target is started (spec §1.3.7)',
    machines: [machine('a', 'iad'), machine('target', 'sjc', stopped)],
    query: { accept: (m) => m.id === 'target' },
    expected: ['target+'],
  },

  // Preferred and forced regions (spec §1.2 region=, §4)
  {
    name: 'a preferred region comes before the local one',
    machines: [machine('local', 'iad'), machine('preferred', 'sjc')],
    query: { regions: regions(['sjc']) },
    expected: ['preferred', 'local'],
  },
  {
    name: 'preferred regions are tried in the order given, not by closeness',
    machines: [machine('local', 'iad'), machine('ord', 'ord'), machine('ams', 'ams')],
    query: { regions: regions(['ams'], ['ord']) },
    expected: ['ams', 'ord', 'local'],
  },
  {
    name: 'inside one region choice the regions are ranked by closeness',
    machines: [machine('ams', 'ams'), machine('ord', 'ord'), machine('local', 'iad')],
    query: { regions: regions(['ams', 'ord']) },
    expected: ['ord', 'ams', 'local'],
  },
  {
    name: 'a preferred machine over soft limit is kept rather than leaving the preferred region',
    machines: [machine('local', 'iad'), machine('preferred', 'sjc', soft)],
    query: { regions: regions(['sjc']) },
    expected: ['preferred', 'local'],
  },
  {
    name: 'a stopped machine in the preferred region is started before any other region',
    machines: [machine('local', 'iad'), machine('cold', 'sjc', stopped)],
    query: { regions: regions(['sjc']) },
    expected: ['cold+', 'local'],
  },
  {
    name: 'a preferred region without usable machines falls back to the nearest region',
    machines: [machine('local', 'iad'), machine('sick', 'sjc', { healthy: false }), machine('ord', 'ord')],
    query: { regions: regions(['sjc']) },
    expected: ['local', 'ord'],
  },
  {
    name: 'a preferred region the app is not in falls back to the nearest region',
    machines: [machine('local', 'iad')],
    query: { regions: regions(['nrt']) },
    expected: ['local'],
  },
  {
    name: '"any" after a region means the nearest machine of the whole app',
    machines: [machine('ams', 'ams'), machine('local', 'iad'), machine('sjc', 'sjc')],
    query: { regions: regions(['sjc'], 'any') },
    expected: ['sjc', 'local', 'ams'],
  },
  {
    name: 'forced regions never fall back',
    machines: [machine('local', 'iad'), machine('sick', 'sjc', { healthy: false })],
    query: { regions: regions(['sjc']), regionsOnly: true },
    expected: [],
  },
  {
    name: 'forced regions are tried in order and nothing else',
    machines: [machine('local', 'iad'), machine('sjc', 'sjc'), machine('ams', 'ams')],
    query: { regions: regions(['ams'], ['sjc']), regionsOnly: true },
    expected: ['ams', 'sjc'],
  },
  {
    name: 'forced "any" allows the whole app',
    machines: [machine('ams', 'ams'), machine('local', 'iad')],
    query: { regions: regions('any'), regionsOnly: true },
    expected: ['local', 'ams'],
  },

  // Each machine once
  {
    name: 'a machine in several preferred regions and the fallback is yielded once',
    machines: [machine('local', 'iad'), machine('sjc', 'sjc', stopped)],
    query: { regions: regions(['sjc'], ['sjc', 'iad'], 'any') },
    expected: ['sjc+', 'local'],
  },
];

describe('candidates', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(order({ machines: c.machines, ...c.query }), c.expected);
    });
  }

  test('machines equally loaded and equally close are ordered by the injected random', () => {
    const machines = [machine('a', 'iad'), machine('b', 'iad'), machine('c', 'iad')];
    assert.deepEqual(order({ machines, random: sequence(0.1, 0.2, 0.3) }), ['a', 'b', 'c']);
    assert.deepEqual(order({ machines, random: sequence(0.3, 0.2, 0.1) }), ['c', 'b', 'a']);
    assert.deepEqual(order({ machines, random: sequence(0.5, 0.1, 0.9) }), ['b', 'a', 'c']);
  });

  test('random never reorders machines of different load or closeness', () => {
    const machines = [machine('far', 'sjc'), machine('busy', 'iad', { load: 5 }), machine('idle', 'iad')];
    assert.deepEqual(order({ machines, random: sequence(0, 0.9, 0.1) }), ['idle', 'busy', 'far']);
  });

  test('a random over many runs spreads the first pick across equal machines', () => {
    const machines = [machine('a', 'iad'), machine('b', 'iad')];
    const firsts = new Set<string>();
    for (let i = 0; i < 50; i++) firsts.add(order({ machines, random: Math.random })[0]);
    assert.deepEqual([...firsts].sort(), ['a', 'b']);
  });

  test('machines the caller rejects while iterating are not yielded afterwards', () => {
    const failed = new Set<string>();
    const machines = [machine('a', 'iad'), machine('b', 'iad', { load: 1 }), machine('c', 'iad', { load: 2 })];
    const seen: string[] = [];
    for (const c of candidates({ machines, rtt, random: () => 0.5, accept: (m) => !failed.has(m.id) })) {
      seen.push(c.machine.id);
      // A failure on "a" also rules out "c" (say, both share a host that is down).
      if (c.machine.id === 'a') failed.add('c');
    }
    assert.deepEqual(seen, ['a', 'b']);
  });

  test('candidates is lazy: taking the first candidate ranks no further scope', () => {
    let asked = 0;
    const machines = [machine('local', 'iad'), machine('remote', 'sjc')];
    const it = candidates({
      machines,
      rtt,
      random: () => 0.5,
      regions: regions(['iad']),
      accept: () => {
        asked += 1;
        return true;
      },
    });
    assert.equal(it.next().value?.machine.id, 'local');
    assert.equal(asked, 2);
  });

  test('candidates rejects a negative load with a TypeError', () => {
    const machines = [machine('bad', 'iad', { load: -1 })];
    assert.throws(() => order({ machines }), TypeError);
  });

  test('candidates rejects a NaN soft limit with a TypeError', () => {
    const machines = [machine('bad', 'iad', { softLimit: Number.NaN })];
    assert.throws(() => order({ machines }), TypeError);
  });

  test('candidates rejects an rtt that is not a number >= 0', () => {
    const machines = [machine('a', 'iad')];
    assert.throws(() => order({ machines, rtt: () => Number.NaN }), TypeError);
  });

  test('candidates rejects regionsOnly without any region choice', () => {
    assert.throws(() => order({ machines: [machine('a', 'iad')], regionsOnly: true }), TypeError);
    assert.throws(() => order({ machines: [machine('a', 'iad')], regionsOnly: true, regions: [] }), TypeError);
  });
});

describe('loadBucket', () => {
  const table: [Partial<MachineView>, string][] = [
    [{ load: 0 }, 'below_soft'],
    [{ load: 9 }, 'below_soft'],
    [{ load: 10 }, 'soft'],
    [{ load: 19 }, 'soft'],
    [{ load: 20 }, 'hard'],
    [{ load: 25 }, 'hard'],
    [{ load: 25, hardLimit: null }, 'soft'],
    [{ load: 5, softLimit: 10, hardLimit: 5 }, 'hard'],
    [{ load: 0, softLimit: 0 }, 'soft'],
  ];
  for (const [overrides, bucket] of table) {
    test(`loadBucket puts ${JSON.stringify(overrides)} with soft 10 / hard 20 in ${bucket}`, () => {
      assert.equal(loadBucket(machine('m', 'iad', overrides)), bucket);
    });
  }
});

describe('atHardLimit', () => {
  const base = { rtt, random: () => 0.5 };
  const table: { name: string; query: Partial<CandidateQuery> & { machines: readonly MachineView[] }; expected: boolean }[] = [
    {
      name: 'is true when every machine is at its hard limit',
      query: { machines: [machine('a', 'iad', atHard), machine('b', 'sjc', atHard)] },
      expected: true,
    },
    {
      name: 'is true when the only machines not at hard limit are unhealthy',
      query: { machines: [machine('a', 'iad', atHard), machine('b', 'iad', { healthy: false })] },
      expected: true,
    },
    {
      name: 'is false when no machine is at hard limit and none is usable',
      query: { machines: [machine('a', 'iad', { healthy: false }), machine('b', 'iad', { ...stopped, autostart: false })] },
      expected: false,
    },
    {
      name: 'is false while a machine is usable',
      query: { machines: [machine('a', 'iad', atHard), machine('b', 'sjc', soft)] },
      expected: false,
    },
    {
      name: 'is false while a machine could be started',
      query: { machines: [machine('a', 'iad', atHard), machine('b', 'sjc', stopped)] },
      expected: false,
    },
    {
      name: 'is true when the usable machines were all rejected by the caller (already failed)',
      query: { machines: [machine('a', 'iad', atHard), machine('b', 'iad')], accept: (m) => m.id !== 'b' },
      expected: true,
    },
    {
      name: 'ignores a full machine the caller rejects',
      query: { machines: [machine('a', 'iad', atHard)], accept: () => false },
      expected: false,
    },
    {
      name: 'ignores a full cordoned machine',
      query: { machines: [machine('a', 'iad', { ...atHard, cordoned: true })] },
      expected: false,
    },
    {
      name: 'with forced regions, looks only inside them',
      query: {
        machines: [machine('a', 'sjc', atHard), machine('b', 'iad')],
        regions: regions(['sjc']),
        regionsOnly: true,
      },
      expected: true,
    },
    {
      name: 'with preferred regions, looks at the whole app',
      query: { machines: [machine('a', 'sjc', atHard), machine('b', 'iad')], regions: regions(['sjc']) },
      expected: false,
    },
  ];
  for (const c of table) {
    test(`atHardLimit ${c.name}`, () => {
      assert.equal(atHardLimit({ ...base, ...c.query }), c.expected);
    });
  }
});
