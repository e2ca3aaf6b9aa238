/**
 * candidates orders an app's machines for one request: the balancer's pure core (spec §8.2, §9
 * "Start"). It yields candidates lazily in preference order; the caller tries them one by one and
 * passes `accept` to skip machines (`elsewhere`, instance targets, machines that already failed),
 * so no rule needs a special case here (design doc, "Balancer").
 */
import type { MachineState } from '../catalog/types.ts';

/** MachineView is what the balancer needs to know of one machine, for one service. */
export interface MachineView {
  id: string;
  region: string;
  state: MachineState;
  /** Service checks pass (spec §10.1). Ignored for machines that are not started. */
  healthy: boolean;
  cordoned: boolean;
  /** In-flight requests or connections for the service (spec §8.1 `type`). */
  load: number;
  softLimit: number;
  /** null: unlimited (spec §8.1 default). */
  hardLimit: number | null;
  autostart: boolean;
}

/**
 * RegionChoice is one entry of a preferred-region list, aliases already expanded: `any` is the
 * whole app, `regions` a set of regions ranked by closeness. Same shape as src/replay/regions.ts.
 */
export type RegionChoice = { kind: 'any' } | { kind: 'regions'; regions: string[] };

/** CandidateQuery is everything one ordering depends on; `random` and `rtt` are injected. */
export interface CandidateQuery {
  /** Machines of the target app whose service matches the request's port (spec §8.2.9). */
  machines: readonly MachineView[];
  /** Closeness from this node (see closeness.ts); smaller is closer. */
  rtt: (region: string) => number;
  /** The caller's filter: elsewhere, instance targets, already-failed machines. */
  accept?: (m: MachineView) => boolean;
  /** Preferred regions, tried in order (fly-replay `region=`, `fly-prefer-region`), spec §1.2, §4. */
  regions?: readonly RegionChoice[] | null;
  /** Never fall back beyond `regions` (`fly-force-region`), spec §4. */
  regionsOnly?: boolean;
  /** Returns a number in [0, 1): breaks ties between equally good machines (spec §8.2.1). */
  random: () => number;
}

/** Candidate is one machine to try; `needsStart` means wake it before forwarding (spec §9). */
export interface Candidate {
  machine: MachineView;
  needsStart: boolean;
}

/** LoadBucket is how the balancer sees load: three states, never the exact count (spec §8.2.2). */
export type LoadBucket = 'below_soft' | 'soft' | 'hard';

/**
 * STARTABLE_STATE_RANK lists the states a request may wake a machine from, most ready first.
 * `starting` joins a wake already under way instead of starting another machine; a suspended
 * machine resumes faster than a stopped one boots. A machine still `suspending` or `stopping`
 * is woken once that is done (the supervisor queues the start): the last resort, see
 * LAST_RESORT_RANK.
 */
const STARTABLE_STATE_RANK: Partial<Record<MachineState, number>> = {
  starting: 0,
  suspended: 1,
  stopped: 2,
  created: 3,
  suspending: 4,
  stopping: 5,
};

/**
 * LAST_RESORT_RANK: machines from this rank on are being put to sleep. Waking one means waiting
 * for its drain and stop first, so they come after every other machine of the scope, nearest
 * first, rather than a 503 when nothing else is left.
 */
const LAST_RESORT_RANK = 4;

/** loadBucket places a machine's load in one of the three buckets of spec §8.2.2. */
export function loadBucket(m: MachineView): LoadBucket {
  if (m.hardLimit !== null && m.load >= m.hardLimit) return 'hard';
  if (m.load >= m.softLimit) return 'soft';
  return 'below_soft';
}

/** isUsable: a started, healthy, uncordoned machine below its hard limit (spec §8.2.2, §8.2.10). */
function isUsable(m: MachineView): boolean {
  return m.state === 'started' && m.healthy && !m.cordoned && loadBucket(m) !== 'hard';
}

/** isStartable: a machine a request may wake: autostart on and not cordoned (spec §9 "Start"). */
function isStartable(m: MachineView): boolean {
  return STARTABLE_STATE_RANK[m.state] !== undefined && m.autostart && !m.cordoned;
}

/**
 * candidates yields the machines of `query` in preference order, each at most once.
 *
 * Preferred region choices come first, in their order, then (unless `regionsOnly`) the whole
 * app. Within each of those scopes, regions are grouped by closeness (equal RTT, one group), and
 * the groups are taken nearest first. A group counts when it has a usable or a startable machine;
 * within it:
 * 1. its machines below soft limit, least loaded first, ties at random (spec §8.2.1);
 * 2. its startable machines (a wake under way first, then suspended, then stopped): every
 *    running machine of the group is at or over its soft limit, or none runs, so one is
 *    started in the nearest region (spec §9 Start 1);
 * 3. its machines between soft and hard limit (spec §8.2.2).
 * Only then the next group: traffic leaves a region only when each of its machines is
 * unhealthy, at its hard limit, or stopped and not startable; soft limits never send traffic
 * to a farther region, and neither does a local machine that can be woken (spec §8.2.4).
 * Machines still stopping or suspending come last of all (LAST_RESORT_RANK).
 */
export function* candidates(query: CandidateQuery): Generator<Candidate> {
  validateQuery(query);
  const yielded = new Set<string>();
  const accepted = (m: MachineView): boolean =>
    !yielded.has(m.id) && (query.accept === undefined || query.accept(m));
  for (const scope of scopes(query)) {
    // accept is asked again right before each yield: the caller may have rejected more
    // machines (failed ones) since this scope was ranked.
    for (const candidate of rankScope(scope, query, accepted)) {
      if (!accepted(candidate.machine)) continue;
      yielded.add(candidate.machine.id);
      yield candidate;
    }
  }
}

/**
 * atHardLimit says whether a query that yielded nothing more failed because every machine that
 * could take the request is at its hard limit, so the caller should queue (spec §8.2.5), rather
 * than because none can take it at all. True when no machine in scope is usable or startable and
 * at least one started, healthy, uncordoned, accepted machine is at its hard limit.
 */
export function atHardLimit(query: CandidateQuery): boolean {
  validateQuery(query);
  const allowed = query.regionsOnly ? regionFilter(query.regions ?? []) : () => true;
  let anyAtHard = false;
  for (const m of query.machines) {
    if (!allowed(m) || (query.accept !== undefined && !query.accept(m))) continue;
    if (isUsable(m) || isStartable(m)) return false;
    if (m.state === 'started' && m.healthy && !m.cordoned) anyAtHard = true;
  }
  return anyAtHard;
}

/** scopes lists the machine sets to rank, one after the other (spec §1.2 `region`, §4). */
function* scopes(query: CandidateQuery): Generator<readonly MachineView[]> {
  for (const choice of query.regions ?? []) {
    if (choice.kind === 'any') {
      yield query.machines;
    } else {
      const inChoice = new Set(choice.regions);
      yield query.machines.filter((m) => inChoice.has(m.region));
    }
  }
  if (!query.regionsOnly) yield query.machines;
}

/** regionFilter says whether a machine is inside any of the choices. */
function regionFilter(choices: readonly RegionChoice[]): (m: MachineView) => boolean {
  if (choices.some((c) => c.kind === 'any')) return () => true;
  const regions = new Set(choices.flatMap((c) => (c.kind === 'regions' ? c.regions : [])));
  return (m) => regions.has(m.region);
}

interface Ranked {
  machine: MachineView;
  rtt: number;
  /** Startable machines: STARTABLE_STATE_RANK; usable ones: load. */
  order: number;
  tieBreak: number;
}

interface Group {
  rtt: number;
  below: Ranked[];
  startable: Ranked[];
  soft: Ranked[];
}

/** rankScope orders one scope's machines by the rules in candidates' doc comment. */
function* rankScope(
  scope: readonly MachineView[],
  query: CandidateQuery,
  accepted: (m: MachineView) => boolean,
): Generator<Candidate> {
  const rttOf = memoRtt(query.rtt);
  const groups = new Map<number, Group>();
  for (const machine of scope) {
    if (!accepted(machine)) continue;
    const usable = isUsable(machine);
    if (!usable && !isStartable(machine)) continue;
    const rtt = rttOf(machine.region);
    let group = groups.get(rtt);
    if (group === undefined) {
      group = { rtt, below: [], startable: [], soft: [] };
      groups.set(rtt, group);
    }
    if (usable) {
      const ranked = { machine, rtt, order: machine.load, tieBreak: query.random() };
      (loadBucket(machine) === 'below_soft' ? group.below : group.soft).push(ranked);
    } else {
      const order = STARTABLE_STATE_RANK[machine.state] ?? 0;
      group.startable.push({ machine, rtt, order, tieBreak: query.random() });
    }
  }
  const lastResort: Ranked[] = [];
  for (const group of [...groups.values()].sort((a, b) => a.rtt - b.rtt)) {
    yield* asCandidates(group.below.sort(compareRanked), false);
    yield* asCandidates(group.startable.filter((r) => r.order < LAST_RESORT_RANK).sort(compareRanked), true);
    yield* asCandidates(group.soft.sort(compareRanked), false);
    lastResort.push(...group.startable.filter((r) => r.order >= LAST_RESORT_RANK));
  }
  yield* asCandidates(lastResort.sort(compareRanked), true);
}

function compareRanked(a: Ranked, b: Ranked): number {
  return a.rtt - b.rtt || a.order - b.order || a.tieBreak - b.tieBreak;
}

function* asCandidates(ranked: readonly Ranked[], needsStart: boolean): Generator<Candidate> {
  for (const r of ranked) yield { machine: r.machine, needsStart };
}

/** memoRtt asks `rtt` once per region and rejects values that cannot be ordered. */
function memoRtt(rtt: (region: string) => number): (region: string) => number {
  const known = new Map<string, number>();
  return (region) => {
    let value = known.get(region);
    if (value === undefined) {
      value = rtt(region);
      if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
        throw new TypeError(`Cannot rank region "${region}": rtt is ${value}, expected a number >= 0`);
      }
      known.set(region, value);
    }
    return value;
  };
}

/** validateQuery rejects input the ordering cannot make sense of, with a clear TypeError. */
function validateQuery(query: CandidateQuery): void {
  if (query.regionsOnly && (query.regions == null || query.regions.length === 0)) {
    throw new TypeError('Cannot rank machines: regionsOnly needs at least one region choice');
  }
  for (const choice of query.regions ?? []) {
    if (choice.kind !== 'any' && !(choice.kind === 'regions' && Array.isArray(choice.regions))) {
      throw new TypeError(`Cannot rank machines: invalid region choice ${JSON.stringify(choice)}`);
    }
  }
  for (const m of query.machines) {
    checkCount(m, 'load', m.load);
    checkCount(m, 'softLimit', m.softLimit);
    if (m.hardLimit !== null) checkCount(m, 'hardLimit', m.hardLimit);
  }
}

function checkCount(m: MachineView, field: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `Cannot rank machine "${m.id}": ${field} is ${value}, expected a finite number >= 0`,
    );
  }
}
