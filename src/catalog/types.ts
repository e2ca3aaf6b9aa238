/**
 * Catalog records: apps and machines, in the shapes of Fly's Machines API (spec §11.2, §14).
 *
 * These are the persisted, user-facing shapes. Routing never reads them directly: the snapshot
 * (`snapshot.ts`) derives normalised, indexed views from them.
 */

/** MACHINE_STATES lists Fly's machine states (spec §14). Only `started` machines get traffic. */
export const MACHINE_STATES = [
  'created',
  'starting',
  'started',
  'stopping',
  'stopped',
  'suspending',
  'suspended',
  'destroying',
  'destroyed',
  'failed',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

/** Autostop is the value of a service's `autostop` (fly.toml `auto_stop_machines`), spec §9. */
export type Autostop = 'off' | 'stop' | 'suspend';

/** HttpOptions is a port's `http_options` (spec §11.2). Only the fields Ricochet acts on. */
export interface HttpOptions {
  response?: { headers?: Record<string, string | string[] | false>; pristine?: boolean };
  replay_cache?: ReplayCacheRule[];
  idle_timeout?: number;
}

/** ReplayCacheRule is one session-based replay cache rule (spec §5.2). */
export interface ReplayCacheRule {
  path_prefix: string;
  ttl_seconds: number;
  type: 'cookie' | 'header';
  name: string;
  allow_bypass?: boolean;
}

/** ServicePort is one entry of a service's `ports` (spec §11.2). */
export interface ServicePort {
  port?: number;
  start_port?: number;
  end_port?: number;
  handlers?: string[];
  force_https?: boolean;
  http_options?: HttpOptions;
}

/** Concurrency is a service's `concurrency` (spec §8.1). */
export interface Concurrency {
  type: 'connections' | 'requests';
  soft_limit: number;
  hard_limit?: number;
}

/** ServiceCheck is a service-level health check (spec §10). Durations are Fly strings ("10s"). */
export interface ServiceCheck {
  type: 'tcp' | 'http';
  interval?: string;
  timeout?: string;
  grace_period?: string;
  method?: string;
  path?: string;
  protocol?: 'http' | 'https';
  tls_skip_verify?: boolean;
  tls_server_name?: string;
  headers?: { name: string; values: string[] }[];
}

/** Service is one entry of a machine config's `services` (spec §11.2). */
export interface Service {
  protocol: 'tcp' | 'udp';
  internal_port: number;
  ports: ServicePort[];
  autostop?: Autostop;
  autostart?: boolean;
  min_machines_running?: number;
  concurrency?: Concurrency;
  checks?: ServiceCheck[];
}

/** TopLevelCheck is a machine config `checks` entry; it never affects routing (spec §10.2). */
export interface TopLevelCheck {
  type: 'tcp' | 'http';
  port: number;
  interval?: string;
  timeout?: string;
  grace_period?: string;
  method?: string;
  path?: string;
  kind?: 'readiness' | 'informational';
}

/**
 * RicochetMachineOptions is the one key (`config.ricochet`) for everything Fly's config has no
 * field for. `driver` says how the machine runs; `address` is the static driver's target.
 */
export interface RicochetMachineOptions {
  driver: 'process' | 'static';
  /** static driver: "host:port" that every service of the machine is routed to. */
  address?: string;
  /** process driver: working directory of the child process. */
  cwd?: string;
}

/** MachineConfig is a machine's `config`, as Fly's Machines API has it (spec §14). */
export interface MachineConfig {
  image: string;
  env: Record<string, string>;
  services: Service[];
  checks: Record<string, TopLevelCheck>;
  metadata: Record<string, string>;
  init: { exec?: string[]; entrypoint?: string[]; cmd?: string[] };
  restart: { policy: 'no' | 'on-failure' | 'always'; max_retries?: number };
  stop_config: { signal?: string; timeout?: string };
  auto_destroy: boolean;
  guest?: { cpu_kind?: string; cpus?: number; memory_mb?: number };
  ricochet: RicochetMachineOptions;
}

/** MachineEvent is one entry of a machine's `events` (spec §14); newest first, bounded. */
export interface MachineEvent {
  type: string;
  status: string;
  source: 'user' | 'flyd' | 'ricochet';
  timestamp: number;
}

/** MachineCheckStatus is one entry of a machine's `checks` (spec §14). */
export interface MachineCheckStatus {
  name: string;
  status: 'passing' | 'warning' | 'critical';
  output: string;
  updated_at: string;
}

/**
 * MachineRuntime is where a started machine listens: `host`, and the local port behind each
 * internal port. Set while the machine is started, null otherwise.
 */
export interface MachineRuntime {
  host: string;
  ports: Record<string, number>;
  pid?: number;
}

/** Machine is one machine record (spec §14's machine object, plus Ricochet's bookkeeping). */
export interface Machine {
  id: string;
  app: string;
  name: string;
  region: string;
  state: MachineState;
  instance_id: string;
  config: MachineConfig;
  cordoned: boolean;
  created_at: string;
  updated_at: string;
  events: MachineEvent[];
  checks: MachineCheckStatus[];
  /** Where the machine listens while it is started. */
  runtime: MachineRuntime | null;
  /** `config` when the machine comes from ricochet.toml (replaced on reload), else `api`. */
  origin: 'config' | 'api';
  /** The lease on the machine, if any (issue: Machines API). */
  lease: MachineLease | null;
}

/** MachineLease is a machine lease (spec §14). */
export interface MachineLease {
  nonce: string;
  expires_at: number;
  owner: string;
  description: string;
  version: string;
}

/** App is one app record. */
export interface App {
  name: string;
  id: string;
  org: string;
  network: string;
  hostnames: string[];
  /**
   * Whether Host routing reaches the app (its hostnames and `<name>.<base_domain>`). A private
   * app is reached only by replay, like a Fly app with no IP address (spec §1.3.6).
   * Absent in records written before the field existed: public.
   */
  public?: boolean;
  primary_region: string;
  created_at: string;
  origin: 'config' | 'api';
}

/** MACHINE_ID_PATTERN matches Fly's machine ids: 14 lowercase hex characters. */
export const MACHINE_ID_PATTERN = /^[0-9a-f]{14}$/;
