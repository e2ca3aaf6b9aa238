/**
 * PortAllocator hands out free local ports for machines (port isolation, see machine-env.ts).
 * A port is free when the OS gives it for a listen on `host`:0; it stays leased to its machine
 * until released, so that a second machine starting before the first one listens cannot get
 * the same port. The ports of one call are held open together, so they are distinct.
 */
import { createServer, type Server } from 'node:net';

/** PORT_ALLOCATION_ATTEMPTS bounds retries when the OS hands out a port that is still leased. */
const PORT_ALLOCATION_ATTEMPTS = 20;

export class PortAllocator {
  #leased = new Set<number>();

  /** allocate leases `count` distinct free ports on `host`. */
  async allocate(host: string, count: number): Promise<number[]> {
    const servers: Server[] = [];
    const ports: number[] = [];
    try {
      for (let attempt = 0; ports.length < count; attempt++) {
        if (attempt >= count + PORT_ALLOCATION_ATTEMPTS) {
          throw new Error(`Cannot allocate ${count} free ports on ${host}`);
        }
        const server = await listenOnFreePort(host);
        servers.push(server);
        const port = (server.address() as { port: number }).port;
        if (!this.#leased.has(port)) ports.push(port);
      }
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
    for (const port of ports) this.#leased.add(port);
    return ports;
  }

  /** release gives ports back once their machine has exited. */
  release(ports: Iterable<number>): void {
    for (const port of ports) this.#leased.delete(port);
  }

  /** leased is the number of ports currently leased (for tests and metrics). */
  get leased(): number {
    return this.#leased.size;
  }
}

function listenOnFreePort(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => resolve(server));
  });
}

/** sharedPortAllocator is the allocator every process driver uses unless given its own: ports are one per OS. */
export const sharedPortAllocator = new PortAllocator();
