import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Catalog } from '../../src/catalog/catalog.ts';
import { serviceFor, Snapshot } from '../../src/catalog/snapshot.ts';
import { SqliteStore } from '../../src/catalog/sqlite-store.ts';
import { sampleApp, sampleMachine } from './store-contract.ts';

function catalog(): Catalog {
  return new Catalog(new SqliteStore(':memory:'), { baseDomain: 'localhost', now: () => 0 });
}

test('a snapshot is immutable: a change builds a new one and the old one keeps its view', () => {
  const c = catalog();
  c.putApp(sampleApp('a'));
  const before = c.snapshot;
  c.putApp(sampleApp('b'));
  const after = c.snapshot;
  assert.notEqual(before, after);
  assert.equal(before.app('b'), undefined);
  assert.ok(after.app('b'));
  assert.equal(c.snapshot, after, 'no change, no rebuild');
});

test('a burst of changes notifies listeners once', async () => {
  const c = catalog();
  let calls = 0;
  c.onChange(() => calls++);
  c.putApp(sampleApp('a'));
  for (let i = 0; i < 10; i++) c.putMachine(sampleMachine(`0000000000000${i}`.slice(-14), 'a'));
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  assert.equal(calls, 1);
});

test('deleting an app removes its machines', () => {
  const c = catalog();
  c.putApp(sampleApp('a'));
  c.putMachine(sampleMachine('0123456789abcd', 'a'));
  c.deleteApp('a');
  assert.equal(c.get('0123456789abcd'), undefined);
  assert.equal(c.snapshot.machinesOf('a').length, 0);
});

test('a machine of an app that does not exist is refused', () => {
  const c = catalog();
  assert.throws(() => c.putMachine(sampleMachine('0123456789abcd', 'ghost')), /app "ghost" does not exist/);
});

test('recordEvent keeps the newest events first and at most 20', () => {
  const c = catalog();
  c.putApp(sampleApp('a'));
  c.putMachine(sampleMachine('0123456789abcd', 'a'));
  for (let i = 0; i < 25; i++) c.recordEvent('0123456789abcd', { type: 'start', status: String(i), source: 'ricochet' });
  const events = c.get('0123456789abcd')!.events;
  assert.equal(events.length, 20);
  assert.equal(events[0].status, '24');
});

test('appForHost: exact names, then <app>.<base_domain>, then the most specific wildcard', () => {
  const apps = [
    { ...sampleApp('exact'), hostnames: ['www.example.test'] },
    { ...sampleApp('wide'), hostnames: ['*.example.test'] },
    { ...sampleApp('narrow'), hostnames: ['*.api.example.test'] },
    { ...sampleApp('named'), hostnames: [] },
  ];
  const s = new Snapshot(1, 'localhost', apps, []);
  assert.equal(s.appForHost('www.example.test')?.name, 'exact');
  assert.equal(s.appForHost('x.example.test')?.name, 'wide');
  assert.equal(s.appForHost('v1.api.example.test')?.name, 'narrow');
  assert.equal(s.appForHost('named.localhost')?.name, 'named');
  assert.equal(s.appForHost('ghost.localhost'), undefined);
  assert.equal(s.appForHost('example.test'), undefined);
});

test('publicPorts lists ports and port ranges of every machine, destroyed machines left out', () => {
  const m1 = sampleMachine('0123456789abcd', 'a');
  const m2 = sampleMachine('0123456789abce', 'a');
  m2.config = { ...m2.config, services: [{ protocol: 'tcp', internal_port: 9000, ports: [{ start_port: 9000, end_port: 9002 }] }] };
  const m3 = { ...sampleMachine('0123456789abcf', 'a'), state: 'destroyed' as const };
  m3.config = { ...m3.config, services: [{ protocol: 'tcp', internal_port: 1, ports: [{ port: 7000 }] }] };
  const s = new Snapshot(1, 'localhost', [sampleApp('a')], [m1, m2, m3]);
  assert.deepEqual(s.publicPorts(), [80, 9000, 9001, 9002]);
  assert.equal(serviceFor(m2, 9001)?.service.internal_port, 9000);
  assert.equal(serviceFor(m2, 80), undefined);
});
