/**
 * CASES are the peers the benchmark compares: how to start each one, on which core, and what it
 * needs. run.ts starts the backends a case names, then calls its `start`.
 */
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { caddyfile, haproxyCfg, nginxConf } from './peer-configs.ts';
import type { ProcessGroup, StartedProcess } from './process-group.ts';
import { bigCatalogApps, renderTemplate } from './ricochet-config.ts';

/** PROXY_CORE runs the proxy under test; the backends and wrk share BACKEND_CORE. */
export const PROXY_CORE = '0';
export const BACKEND_CORE = '1';
/** BENCH_HOST is the Host header of the Ricochet cases: the name app "bench" answers to. */
export const BENCH_HOST = 'bench.localhost';
/** RICOCHET_ENTRY is the CLI the proxy's engineer is writing, relative to the repo. */
export const RICOCHET_ENTRY = 'bin/ricochet.js';
/** BIG_CATALOG_APPS and BIG_CATALOG_MACHINES size the big-catalog config. */
export const BIG_CATALOG_APPS = 1000;
export const BIG_CATALOG_MACHINES = 100_000;

const DEFAULT_START_TIMEOUT_MS = 15_000;
const BIG_CATALOG_START_TIMEOUT_MS = 180_000;

export type BackendMode = 'plain' | 'replay' | 'replay-cache';

/** RunningBackend is a started backend and the port it listens on. */
export interface RunningBackend {
  process: StartedProcess;
  port: number;
  mode: BackendMode;
}

/** CaseContext is what a case's `start` gets: fresh ports, a fresh dir, the running backends. */
export interface CaseContext {
  group: ProcessGroup;
  repoDir: string;
  benchDir: string;
  /** Node 24 binary (the harness's own). */
  node: string;
  /** Fresh temp dir of this case, removed afterwards. */
  dir: string;
  backends: RunningBackend[];
  proxyPort: number;
  apiPort: number;
  /** Notes the case records in the results, such as the size of a generated config. */
  notes: string[];
}

/** Requirement is a tool or file a case needs; without it the case is skipped, not failed. */
export type Requirement =
  | { kind: 'executable'; name: string }
  | { kind: 'file'; path: string; reason: string };

/**
 * CaseVariant is one load a case's single proxy process serves, told apart by its Host header;
 * each is measured and reported as a row of its own, under its own id.
 */
export interface CaseVariant {
  id: string;
  label: string;
  hostHeader: string | null;
}

/** CaseSpec is one peer. */
export interface CaseSpec {
  id: string;
  label: string;
  requires: Requirement[];
  /** Backends to start, in order; `ctx.backends` follows it. */
  backends: BackendMode[];
  backendCore: string;
  /** Host header wrk and the readiness probe send; null keeps wrk's default (127.0.0.1:port). */
  hostHeader: string | null;
  /**
   * Loads measured in the one process, in turn (bench/README.md "Variants"); when present they
   * replace the case's own id, label and hostHeader in the results.
   */
  variants?: CaseVariant[];
  startTimeoutMs: number;
  /** start launches the proxy and returns the process to measure and the port to load. */
  start(ctx: CaseContext): { process: StartedProcess; port: number };
}

function nodePeer(id: string, label: string, script: string): CaseSpec {
  return {
    id,
    label,
    requires: [],
    backends: ['plain'],
    backendCore: BACKEND_CORE,
    hostHeader: null,
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    start(ctx) {
      const proc = ctx.group.start({
        name: id,
        core: PROXY_CORE,
        command: ctx.node,
        args: [path.join(ctx.benchDir, script), '--port', String(ctx.proxyPort), '--upstream', `http://127.0.0.1:${ctx.backends[0].port}`],
        cwd: ctx.repoDir,
      });
      return { process: proc, port: ctx.proxyPort };
    },
  };
}

function peerInput(ctx: CaseContext) {
  return { listenPort: ctx.proxyPort, backendPort: ctx.backends[0].port, dir: ctx.dir };
}

/** caseLoads returns a case's variants, or the case itself as its only load. */
export function caseLoads(spec: CaseSpec): CaseVariant[] {
  return spec.variants ?? [{ id: spec.id, label: spec.label, hostHeader: spec.hostHeader }];
}

/** RicochetBackend is a backend of a Ricochet case and the template placeholder its port fills. */
interface RicochetBackend {
  mode: BackendMode;
  placeholder: string;
}

/** RicochetCaseOptions describes a case run as `node bin/ricochet.js serve` with a template. */
interface RicochetCaseOptions {
  id: string;
  label: string;
  /** File name in bench/ricochet/. */
  template: string;
  backends: RicochetBackend[];
  bigCatalog?: boolean;
  variants?: CaseVariant[];
}

/** ricochetCase starts `node bin/ricochet.js serve --config <file>` with a rendered template. */
function ricochetCase(options: RicochetCaseOptions): CaseSpec {
  const bigCatalog = options.bigCatalog === true;
  return {
    id: options.id,
    label: options.label,
    requires: [{ kind: 'file', path: RICOCHET_ENTRY, reason: `${RICOCHET_ENTRY} does not exist yet (the proxy is being written)` }],
    backends: options.backends.map((backend) => backend.mode),
    backendCore: BACKEND_CORE,
    hostHeader: BENCH_HOST,
    ...(options.variants === undefined ? {} : { variants: options.variants }),
    startTimeoutMs: bigCatalog ? BIG_CATALOG_START_TIMEOUT_MS : DEFAULT_START_TIMEOUT_MS,
    start(ctx) {
      const text = readFileSync(path.join(ctx.benchDir, 'ricochet', options.template), 'utf8');
      const values: Record<string, number> = { API_PORT: ctx.apiPort, PROXY_PORT: ctx.proxyPort };
      options.backends.forEach((backend, i) => {
        values[backend.placeholder] = ctx.backends[i].port;
      });
      let config = renderTemplate(text, values);
      if (bigCatalog) {
        const started = Date.now();
        config += '\n' + bigCatalogApps({ apps: BIG_CATALOG_APPS, machines: BIG_CATALOG_MACHINES, address: `127.0.0.1:${ctx.backends[0].port}` });
        ctx.notes.push(
          `config: ${BIG_CATALOG_APPS} apps, ${BIG_CATALOG_MACHINES} static machines (one [[apps.machines]] group with count per app), ` +
            `${(Buffer.byteLength(config) / 1024).toFixed(0)} KiB, generated in ${Date.now() - started} ms`,
        );
      }
      const file = path.join(ctx.dir, 'ricochet.toml');
      writeFileSync(file, config);
      const proc = ctx.group.start({
        name: options.id,
        core: PROXY_CORE,
        command: ctx.node,
        args: [path.join(ctx.repoDir, RICOCHET_ENTRY), 'serve', '--config', file],
        cwd: ctx.repoDir,
      });
      return { process: proc, port: ctx.proxyPort };
    },
  };
}

/**
 * IN_PROCESS_VARIANTS are the loads of `ricochet-in-process`: a plain request, a replay and a
 * cached replay, by Host, in one Ricochet process (bench/ricochet/in-process.toml).
 */
export const IN_PROCESS_VARIANTS: readonly CaseVariant[] = [
  { id: 'in-process-plain', label: 'Ricochet, plain request (app target)', hostHeader: 'target.localhost' },
  { id: 'in-process-replay', label: 'Ricochet, router -> fly-replay -> target', hostHeader: 'bench.localhost' },
  { id: 'in-process-cached-replay', label: 'Ricochet, cached replay (fly-replay-cache: /*)', hostHeader: 'cached.localhost' },
];

const CASE_LIST: CaseSpec[] = [
  {
    id: 'direct',
    label: 'direct to the backend (backend on core 0)',
    requires: [],
    backends: ['plain'],
    backendCore: PROXY_CORE,
    hostHeader: null,
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    start: (ctx) => ({ process: ctx.backends[0].process, port: ctx.backends[0].port }),
  },
  {
    id: 'nginx',
    label: 'nginx, 1 worker, upstream keepalive 64',
    requires: [{ kind: 'executable', name: 'nginx' }],
    backends: ['plain'],
    backendCore: BACKEND_CORE,
    hostHeader: null,
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    start(ctx) {
      const file = path.join(ctx.dir, 'nginx.conf');
      writeFileSync(file, nginxConf(peerInput(ctx)));
      // -e: the error log before the config is read; -p: prefix, so nothing outside ctx.dir is used.
      const proc = ctx.group.start({ name: 'nginx', core: PROXY_CORE, command: findExecutable('nginx') ?? 'nginx', args: ['-e', 'stderr', '-p', ctx.dir, '-c', file] });
      return { process: proc, port: ctx.proxyPort };
    },
  },
  {
    id: 'haproxy',
    label: 'haproxy, nbthread 1, http-reuse always',
    requires: [{ kind: 'executable', name: 'haproxy' }],
    backends: ['plain'],
    backendCore: BACKEND_CORE,
    hostHeader: null,
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    start(ctx) {
      const file = path.join(ctx.dir, 'haproxy.cfg');
      writeFileSync(file, haproxyCfg(peerInput(ctx)));
      const proc = ctx.group.start({ name: 'haproxy', core: PROXY_CORE, command: findExecutable('haproxy') ?? 'haproxy', args: ['-db', '-f', file] });
      return { process: proc, port: ctx.proxyPort };
    },
  },
  {
    id: 'caddy',
    label: 'caddy (GOMAXPROCS=1)',
    requires: [{ kind: 'executable', name: 'caddy' }],
    backends: ['plain'],
    backendCore: BACKEND_CORE,
    hostHeader: null,
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    start(ctx) {
      const file = path.join(ctx.dir, 'Caddyfile');
      writeFileSync(file, caddyfile(peerInput(ctx)));
      // XDG dirs keep Caddy's autosave and data out of $HOME.
      const env = { ...process.env, GOMAXPROCS: '1', XDG_DATA_HOME: ctx.dir, XDG_CONFIG_HOME: ctx.dir };
      const started = ctx.group.start({
        name: 'caddy', core: PROXY_CORE, command: findExecutable('caddy') ?? 'caddy', args: ['run', '--config', file, '--adapter', 'caddyfile'], env,
      });
      return { process: started, port: ctx.proxyPort };
    },
  },
  nodePeer('min-stream', 'min Node proxy: node:http + undici Pool.stream', 'peers/min-stream.ts'),
  nodePeer('fastify', '@fastify/http-proxy', 'peers/fastify-proxy.ts'),
  nodePeer('http-proxy', 'http-proxy + keep-alive http.Agent', 'peers/http-proxy-agent.ts'),
  nodePeer('lean-pipe', 'lean path: node:net, JS head parsing, byte piping', 'peers/lean-pipe.ts'),
  ricochetCase({ id: 'ricochet', label: 'Ricochet', template: 'plain.toml', backends: [{ mode: 'plain', placeholder: 'BACKEND_PORT' }] }),
  ricochetCase({
    id: 'ricochet-replay',
    label: 'Ricochet, router -> fly-replay -> target',
    template: 'replay.toml',
    backends: [{ mode: 'replay', placeholder: 'ROUTER_PORT' }, { mode: 'plain', placeholder: 'TARGET_PORT' }],
  }),
  ricochetCase({
    id: 'ricochet-cached-replay',
    label: 'Ricochet, cached replay (fly-replay-cache: /*)',
    template: 'replay.toml',
    backends: [{ mode: 'replay-cache', placeholder: 'ROUTER_PORT' }, { mode: 'plain', placeholder: 'TARGET_PORT' }],
  }),
  ricochetCase({
    id: 'ricochet-in-process',
    label: 'Ricochet, plain, replay and cached replay in one process',
    template: 'in-process.toml',
    backends: [
      { mode: 'plain', placeholder: 'TARGET_PORT' },
      { mode: 'replay', placeholder: 'ROUTER_PORT' },
      { mode: 'replay-cache', placeholder: 'CACHED_ROUTER_PORT' },
    ],
    variants: [...IN_PROCESS_VARIANTS],
  }),
  ricochetCase({
    id: 'ricochet-big-catalog',
    label: `Ricochet, ${BIG_CATALOG_APPS} apps / ${BIG_CATALOG_MACHINES} machines`,
    template: 'plain.toml',
    backends: [{ mode: 'plain', placeholder: 'BACKEND_PORT' }],
    bigCatalog: true,
  }),
];

/** CASES maps a case id to its spec. */
export const CASES: ReadonlyMap<string, CaseSpec> = new Map(CASE_LIST.map((spec) => [spec.id, spec]));

/** findExecutable looks a command up on PATH (and the sbin dirs, where Debian puts nginx). */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this dir
    }
  }
  return null;
}

/** missingRequirement returns why a case cannot run here, or null when it can. */
export function missingRequirement(spec: CaseSpec, repoDir: string): string | null {
  for (const requirement of spec.requires) {
    if (requirement.kind === 'executable' && findExecutable(requirement.name) === null) {
      return `${requirement.name} is not installed (see bench/README.md)`;
    }
    if (requirement.kind === 'file') {
      try {
        accessSync(path.join(repoDir, requirement.path), constants.R_OK);
      } catch {
        return requirement.reason;
      }
    }
  }
  return null;
}
