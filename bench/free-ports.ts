/**
 * freePorts finds `n` distinct free TCP ports on 127.0.0.1 for a case's listeners.
 *
 * The ports are found by binding them, and released just before the case's processes start.
 * They are drawn from below the kernel's ephemeral range (ip_local_port_range) rather than by
 * binding port 0: on a machine where other tests bind port 0, and where a proxy under test may
 * open tens of thousands of outgoing connections while it starts (big-catalog: one connect per
 * static machine), a port from the ephemeral range can be taken in between. Outside that range
 * only an explicit bind can take it. Port 0 is the fallback when the range leaves no room.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** LOWEST_PORT keeps clear of well-known and commonly configured ports. */
const LOWEST_PORT = 10_000;
const ATTEMPTS_PER_PORT = 20;

/** ephemeralLow returns the first port of the kernel's ephemeral range (32768 if unknown). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

function listen(server: net.Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(true));
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const high = ephemeralLow() - 1;
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      let bound = false;
      for (let attempt = 0; attempt < ATTEMPTS_PER_PORT && high > LOWEST_PORT && !bound; attempt++) {
        const server = net.createServer();
        const port = LOWEST_PORT + Math.floor(Math.random() * (high - LOWEST_PORT));
        bound = await listen(server, port);
        if (bound) servers.push(server);
      }
      if (!bound) {
        const server = net.createServer();
        if (!(await listen(server, 0))) throw new Error('Cannot find a free port on 127.0.0.1');
        servers.push(server);
      }
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
