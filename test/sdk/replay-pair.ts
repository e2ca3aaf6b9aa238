/**
 * startReplayPair runs a Ricochet node with two apps whose machines are servers the test runs
 * (static driver): `router`, reached at router.test, and `target`, which has no hostname of its
 * own and is reached by replay (or, to check the guards, at target.localhost).
 */
import type { TestContext } from 'node:test';
import { startNode, type TestNode } from '../harness/index.ts';

export const ROUTER_HOST = 'router.test';
export const TARGET_DIRECT_HOST = 'target.localhost';

export function startReplayPair(t: TestContext, routerAddress: string, targetAddress: string): Promise<TestNode> {
  return startNode(
    t,
    `
[[apps]]
name = "router"
hostnames = ["${ROUTER_HOST}"]
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${routerAddress}"

[[apps]]
name = "target"
  [apps.http_service]
  internal_port = 8080
  [[apps.machines]]
  address = "${targetAddress}"
`,
  );
}

/** addressOf is the `host:port` of a server listening on 127.0.0.1. */
export function addressOf(server: { address(): unknown }): string {
  const { port } = server.address() as { port: number };
  return `127.0.0.1:${port}`;
}
