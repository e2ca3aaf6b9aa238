/**
 * proc-stat reads what the benchmark measures about processes and cores from /proc (Linux only):
 * CPU time of a process tree, its resident memory, how often its main threads slept, and
 * per-core busy time.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** ProcStat is the part of /proc/<pid>/stat the benchmark uses. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Start time after boot, in clock ticks: tells a process from a later one with a reused PID. */
  startTicks: number;
  rssPages: number;
}

/** parseProcStat reads one /proc/<pid>/stat line; the command name may hold spaces and parens. */
export function parseProcStat(line: string): ProcStat {
  const close = line.lastIndexOf(')');
  if (close < 0) throw new TypeError(`Cannot parse /proc stat line: "${line.slice(0, 80)}"`);
  const pid = Number(line.slice(0, line.indexOf(' ')));
  // Fields after the command start at field 3 (state); proc(5) numbers them from 1.
  const rest = line.slice(close + 2).split(' ');
  return {
    pid,
    ppid: Number(rest[1]),
    cpuTicks: Number(rest[11]) + Number(rest[12]),
    startTicks: Number(rest[19]),
    rssPages: Number(rest[21]),
  };
}

/** readProcStat returns the stat of one process, or null once it is gone. */
export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** processTree returns the stats of `pid` and all its live descendants (nginx's worker, say). */
export function processTree(pid: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat !== null) all.push(stat);
  }
  const byParent = new Map<number, ProcStat[]>();
  for (const stat of all) {
    const siblings = byParent.get(stat.ppid);
    if (siblings === undefined) byParent.set(stat.ppid, [stat]);
    else siblings.push(stat);
  }
  const root = all.find((stat) => stat.pid === pid);
  if (root === undefined) return [];
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const child of byParent.get(tree[i].pid) ?? []) tree.push(child);
  }
  return tree;
}

/**
 * parseVoluntarySwitches reads `voluntary_ctxt_switches` from a /proc/<pid>/status text: how
 * often the main thread gave up the CPU to wait (an event loop with nothing to do sleeping in
 * epoll_wait, say), as opposed to `nonvoluntary_ctxt_switches`, when it was preempted.
 */
export function parseVoluntarySwitches(status: string): number {
  const match = /^voluntary_ctxt_switches:\s*(\d+)\s*$/m.exec(status);
  if (match === null) throw new TypeError('Cannot parse /proc status: no voluntary_ctxt_switches line');
  return Number(match[1]);
}

/**
 * readVoluntarySwitches returns the voluntary context switches of the main thread of `pid`
 * (/proc/<pid>/status counts the thread-group leader alone), or 0 once it is gone.
 */
export function readVoluntarySwitches(pid: number): number {
  try {
    return parseVoluntarySwitches(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return 0;
  }
}

/** TreeSample is the CPU time, memory and sleeps of a process tree at one moment. */
export interface TreeSample {
  cpuTicks: number;
  rssBytes: number;
  /** Voluntary context switches of the main thread of every process, summed (nginx: master + worker). */
  voluntarySwitches: number;
  pids: number[];
}

/** sampleTree adds up CPU ticks, RSS and main-thread voluntary context switches over a process tree. */
export function sampleTree(pid: number): TreeSample {
  const tree = processTree(pid);
  let cpuTicks = 0;
  let rssPages = 0;
  let voluntarySwitches = 0;
  for (const stat of tree) {
    cpuTicks += stat.cpuTicks;
    rssPages += stat.rssPages;
    voluntarySwitches += readVoluntarySwitches(stat.pid);
  }
  return { cpuTicks, rssBytes: rssPages * PAGE_SIZE_BYTES, voluntarySwitches, pids: tree.map((stat) => stat.pid) };
}

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000 }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

/** CLOCK_TICKS_PER_SECOND is the unit of /proc CPU times (USER_HZ). */
export const CLOCK_TICKS_PER_SECOND = getconf('CLK_TCK', 100);
/** PAGE_SIZE_BYTES is the unit of the RSS field of /proc/<pid>/stat. */
export const PAGE_SIZE_BYTES = getconf('PAGESIZE', 4096);

/** CoreTimes is the busy and total time of each core, in clock ticks, from /proc/stat. */
export type CoreTimes = Map<number, { busy: number; total: number }>;

/** readCoreTimes reads the `cpuN` lines of /proc/stat. */
export function readCoreTimes(): CoreTimes {
  const cores: CoreTimes = new Map();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    const fields = match[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    const idle = fields[3] + fields[4];
    cores.set(Number(match[1]), { busy: total - idle, total });
  }
  return cores;
}

/** coreBusyShare returns how busy a core was between two readings, 0..1 (null if unknown). */
export function coreBusyShare(before: CoreTimes, after: CoreTimes, core: number): number | null {
  const a = before.get(core);
  const b = after.get(core);
  if (a === undefined || b === undefined || b.total === a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}
