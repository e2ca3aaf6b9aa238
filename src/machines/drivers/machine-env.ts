/**
 * machineEnv builds the environment of a machine's process (design doc, "Machines"): the
 * runtime variables Fly sets inside a Machine, the machine's `config.env`, and a few basics from
 * Ricochet's own environment. Pure: values in, values out.
 *
 * Decisions [UNDOC]:
 * - Inherited from Ricochet: only INHERITED_ENV_KEYS (PATH, HOME, USER, LANG, LC_ALL, TZ,
 *   TMPDIR). Nothing else leaks in: no NODE_OPTIONS, no NODE_TEST_CONTEXT, no credentials.
 * - Precedence: inherited basics < `config.env` < Ricochet's variables. PORT, RICOCHET_PORT_*,
 *   FLY_* and HOSTNAME always win, so a fly.toml `[env] PORT = "8080"` cannot break port
 *   isolation.
 * - FLY_PUBLIC_IP and FLY_PRIVATE_IP are the address the machine is reached at (127.0.0.1).
 *
 * Port isolation: each distinct `internal_port` P of the machine's services gets its own free
 * local port L (see PortAllocator), given as RICOCHET_PORT_<P>=L; PORT is the local port of the
 * first service's internal port. An app must listen on $PORT (or $RICOCHET_PORT_<P>) rather
 * than on its internal port, so that two machines of one app can run on one host.
 */
import type { App, Machine } from '../../catalog/types.ts';

/** INHERITED_ENV_KEYS are the only variables a machine inherits from Ricochet's environment. */
export const INHERITED_ENV_KEYS = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

/** FALLBACK_PATH is PATH when Ricochet itself runs without one. */
export const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** DEFAULT_MEMORY_MB is FLY_VM_MEMORY_MB when the config has no `guest.memory_mb`. */
export const DEFAULT_MEMORY_MB = 256;

export interface MachineEnvInput {
  machine: Machine;
  app: App | undefined;
  /** The host the machine listens on. */
  host: string;
  /** internal port -> local port, in the order of the machine's services. */
  ports: ReadonlyMap<number, number>;
  /** Ricochet's own environment, read for INHERITED_ENV_KEYS only. */
  parentEnv: NodeJS.ProcessEnv;
  /** Variables the node gives every machine, such as RICOCHET_API_URL. */
  nodeEnv?: Record<string, string>;
}

/** machineEnv returns the full environment of the machine's process. */
export function machineEnv(input: MachineEnvInput): Record<string, string> {
  const { machine, app, host, ports, parentEnv, nodeEnv } = input;
  const env: Record<string, string> = {};
  for (const key of INHERITED_ENV_KEYS) {
    const value = parentEnv[key];
    if (value !== undefined) env[key] = value;
  }
  env.PATH ??= FALLBACK_PATH;
  Object.assign(env, machine.config.env);

  const firstInternal = machine.config.services[0]?.internal_port;
  if (firstInternal !== undefined && ports.has(firstInternal)) env.PORT = String(ports.get(firstInternal));
  for (const [internal, local] of ports) env[`RICOCHET_PORT_${internal}`] = String(local);

  Object.assign(env, {
    FLY_APP_NAME: machine.app,
    FLY_MACHINE_ID: machine.id,
    FLY_ALLOC_ID: machine.id,
    FLY_REGION: machine.region,
    PRIMARY_REGION: app?.primary_region ?? machine.region,
    FLY_PUBLIC_IP: host,
    FLY_PRIVATE_IP: host,
    FLY_IMAGE_REF: machine.config.image,
    FLY_MACHINE_VERSION: machine.instance_id,
    FLY_PROCESS_GROUP: machine.config.metadata.fly_process_group ?? 'app',
    FLY_VM_MEMORY_MB: String(machine.config.guest?.memory_mb ?? DEFAULT_MEMORY_MB),
    HOSTNAME: machine.id,
  });
  if (nodeEnv !== undefined) Object.assign(env, nodeEnv);
  return env;
}

/** internalPorts lists the distinct internal ports of a machine's services, first service first. */
export function internalPorts(machine: Machine): number[] {
  return [...new Set(machine.config.services.map((service) => service.internal_port))];
}
