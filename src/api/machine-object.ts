/**
 * machineObject renders a machine record as Fly's machine object (spec §14): the record's
 * fields, `config` as Fly serialises it (a service's `autostop` "off"/"stop" back to
 * false/true, fly-go's spelling), `image_ref` split from `config.image`, and no bookkeeping
 * (`runtime`, `origin`, `lease`).
 */
import type { Machine, MachineConfig } from '../catalog/types.ts';

export interface MachineObject {
  id: string;
  name: string;
  state: Machine['state'];
  region: string;
  instance_id: string;
  private_ip: string;
  config: unknown;
  image_ref: { registry: string; repository: string; tag: string; digest: string };
  created_at: string;
  updated_at: string;
  events: Machine['events'];
  checks: Machine['checks'];
  host_status: 'ok';
  cordoned: boolean;
  nonce?: string;
}

export function machineObject(machine: Machine, options: { nonce?: string } = {}): MachineObject {
  const object: MachineObject = {
    id: machine.id,
    name: machine.name,
    state: machine.state,
    region: machine.region,
    instance_id: machine.instance_id,
    private_ip: privateIp(machine),
    config: flyConfig(machine.config),
    image_ref: imageRef(machine.config.image),
    created_at: machine.created_at,
    updated_at: machine.updated_at,
    events: machine.events.map((event) => ({ ...event })),
    checks: machine.checks.map((check) => ({ ...check })),
    host_status: 'ok',
    cordoned: machine.cordoned,
  };
  if (options.nonce !== undefined) object.nonce = options.nonce;
  return object;
}

/** flyConfig copies a config, writing each service's autostop as fly-go does (spec §9). */
export function flyConfig(config: MachineConfig): unknown {
  const copy = structuredClone(config);
  for (const service of copy.services as unknown as { autostop?: unknown }[]) {
    if (service.autostop === 'off') service.autostop = false;
    else if (service.autostop === 'stop') service.autostop = true;
  }
  return copy;
}

/** privateIp is where the machine is reached: its runtime host, else the static address's host. */
function privateIp(machine: Machine): string {
  if (machine.runtime !== null) return machine.runtime.host;
  const address = machine.config.ricochet.address;
  if (address !== undefined) return address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return '';
}

/** imageRef splits "registry/repo:tag@digest" the way a container reference reads. */
export function imageRef(image: string): MachineObject['image_ref'] {
  let rest = image;
  let digest = '';
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = '';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let registry = '';
  const slash = rest.indexOf('/');
  if (slash !== -1 && /[.:]|^localhost$/.test(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return { registry, repository: rest, tag, digest };
}
