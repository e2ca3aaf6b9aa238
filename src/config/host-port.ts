/**
 * parseHostPort reads "host:port" (`listen.api`, a static machine's `address`): host is a DNS
 * name or an IPv4 address, or an IPv6 address in brackets ("[::1]:4280"); port is 0–65535.
 * Returns null for anything else; callers choose the error and any tighter port range.
 */
import { isIP } from 'node:net';

export interface HostPort {
  /** Host without brackets: "127.0.0.1", "localhost", "::1". */
  host: string;
  port: number;
}

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const PORT_MAX = 65535;

export function parseHostPort(text: string): HostPort | null {
  if (typeof text !== 'string') return null;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return null;
  const port = Number(match[3]);
  if (port > PORT_MAX) return null;
  const v6 = match[1];
  if (v6 !== undefined) return isIP(v6) === 6 ? { host: v6, port } : null;
  const host = match[2];
  if (isIP(host) === 4 || HOST_NAME.test(host)) return { host, port };
  return null;
}
