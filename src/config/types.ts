/**
 * NodeConfig is a validated, frozen `ricochet.toml` (docs/configuration.md has every key and
 * its default). `loadConfig` in `load.ts` is the only producer.
 */
import type { MachineConfig } from '../catalog/types.ts';

export interface NodeConfig {
  /** Region this node is in: `Fly-Region`, and the origin of closeness. */
  region: string;
  /** Embedded catalog file, or ":memory:". Relative paths resolve against the config file. */
  state: string;
  /** App X answers at X.<base_domain>. */
  base_domain: string;
  listen: ListenConfig;
  /** RTT in ms from this node's region to each region; own region is 0; unlisted regions sort after all listed ones. */
  regions: Record<string, number>;
  /** Region groups beyond Fly's built-in table (spec §1.2 aliases): alias -> region codes. */
  region_aliases: Record<string, string[]>;
  api: { token: string | null };
  replay: ReplaySettings;
  proxy: ProxySettings;
  machines: MachineSettings;
  /** Orgs' settings; `replay_sources` is the cross-org replay allow-list (spec §1.4). */
  orgs: Record<string, { replay_sources: string[] }>;
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  apps: AppConfig[];
  /** Absolute path of the file this came from (null for built-in defaults). */
  path: string | null;
}

export interface ListenConfig {
  /** Public listeners bind here. */
  host: string;
  /** Machines API "host:port". */
  api: string;
  /**
   * Public port -> where it listens: a local port on `host` (0 = any free port, for tests), or
   * "host:port" to bind it on an address of its own (a private port on loopback). A public port
   * that a service declares but that is not mapped here listens on the same number on `host`.
   */
  ports: Record<string, number | string>;
}

export interface ReplaySettings {
  /** Largest request body that can be replayed (spec §1.3.12); bigger ones get PA01. */
  max_body_bytes: number;
  /** How long a replay tries to reach its target when the directive has no `timeout`. */
  timeout_ms: number;
  /** Most entries the replay cache holds before evicting the least recently used. */
  cache_max_entries: number;
  /** Most chained replays for one request (spec §1.3.8). */
  max_hops: number;
}

export interface ProxySettings {
  /** Deadline to open a TCP connection to a machine. */
  connect_timeout_ms: number;
  /** Deadline for a machine's response head once the request is sent (504 past it). */
  response_timeout_ms: number;
  /** How long a graceful shutdown waits for in-flight requests. */
  drain_timeout_ms: number;
  /** Most machines one request is tried on after connection failures. */
  max_attempts: number;
  /** Keep-alive connections kept open per machine. */
  pool_connections: number;
  /** Requests that may wait per app and service while every machine is at its hard limit (spec §8.2.5). */
  queue_max_waiters: number;
  /** Longest wait at the hard limit before 503 PL02. */
  queue_max_wait_ms: number;
}

export interface MachineSettings {
  /** Deadline for a machine to accept connections after a start. */
  start_timeout_ms: number;
  /** Period of the autostop pass (spec §9: "every few minutes", [UNDOC]). */
  autostop_interval_ms: number;
  /** Requests held node-wide while machines start (spec §9); one more gets 503 PM09. */
  max_held_requests: number;
}

/** AppConfig is one `[[apps]]` section, fly.toml keys already turned into a machine config. */
export interface AppConfig {
  name: string;
  org: string;
  network: string;
  hostnames: string[];
  /** false: no Host routes to the app; it is reached only by replay (spec §1.3.6). */
  public: boolean;
  primary_region: string;
  /**
   * The config every machine of the app gets: services (from `[http_service]`,
   * `[[services]]`), env, checks, stop_config (from kill_signal / kill_timeout), restart.
   * `init` and `ricochet` come from each machine group.
   */
  machine_config: MachineConfig;
  machines: MachineGroupConfig[];
}

/** MachineGroupConfig is one `[[apps.machines]]` entry, its ids resolved. */
export interface MachineGroupConfig {
  /** The fixed `id`, or `count` ids derived stably from app name, group index and ordinal. */
  ids: string[];
  region: string;
  /** process driver argv; null for the static driver. */
  cmd: string[] | null;
  /** process driver working directory (absolute). */
  cwd: string | null;
  /** static driver "host:port". */
  address: string | null;
}

/** ConfigWarning is a non-fatal finding, such as an unknown key. */
export interface ConfigWarning {
  file: string;
  key: string;
  message: string;
}
