/**
 * storeContract is the test suite every CatalogStore implementation runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CatalogStore } from '../../src/catalog/store.ts';
import type { App, Machine } from '../../src/catalog/types.ts';

export function sampleApp(name: string): App {
  return { name, id: name, org: 'personal', network: 'default', hostnames: [`${name}.test`], primary_region: 'iad', created_at: '2026-01-01T00:00:00.000Z', origin: 'api' };
}

export function sampleMachine(id: string, app: string): Machine {
  return {
    id,
    app,
    name: `${app}-${id}`,
    region: 'iad',
    state: 'started',
    instance_id: '01',
    config: {
      image: '',
      env: { A: '1' },
      services: [{ protocol: 'tcp', internal_port: 8080, ports: [{ port: 80, handlers: ['http'] }] }],
      checks: {},
      metadata: {},
      init: { exec: ['node', 'x.js'] },
      restart: { policy: 'on-failure' },
      stop_config: { signal: 'SIGINT', timeout: '5s' },
      auto_destroy: false,
      ricochet: { driver: 'process' },
    },
    cordoned: false,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    events: [],
    checks: [],
    runtime: { host: '127.0.0.1', ports: { '8080': 4000 } },
    origin: 'api',
    lease: null,
  };
}

export function storeContract(name: string, open: () => { store: CatalogStore; reopen: (() => CatalogStore) | null }): void {
  test(`${name}: saved apps and machines load back equal`, () => {
    const { store } = open();
    store.saveApp(sampleApp('a'));
    store.saveMachine(sampleMachine('0123456789abcd', 'a'));
    const loaded = store.load();
    assert.deepEqual(loaded.apps, [sampleApp('a')]);
    assert.deepEqual(loaded.machines, [sampleMachine('0123456789abcd', 'a')]);
    store.close();
  });

  test(`${name}: saving again replaces, deleting removes`, () => {
    const { store } = open();
    store.saveApp(sampleApp('a'));
    store.saveApp({ ...sampleApp('a'), hostnames: ['other.test'] });
    store.saveMachine(sampleMachine('0123456789abcd', 'a'));
    store.deleteMachine('0123456789abcd');
    assert.deepEqual(store.load().apps[0].hostnames, ['other.test']);
    assert.deepEqual(store.load().machines, []);
    store.deleteApp('a');
    assert.deepEqual(store.load().apps, []);
    store.close();
  });

  test(`${name}: a failed transaction leaves nothing behind`, () => {
    const { store } = open();
    assert.throws(() =>
      store.transaction(() => {
        store.saveApp(sampleApp('b'));
        throw new Error('boom');
      }),
    );
    assert.deepEqual(store.load().apps, []);
    store.close();
  });

  test(`${name}: data survives closing and reopening`, (t) => {
    const { store, reopen } = open();
    if (reopen === null) {
      t.diagnostic('in-memory store: nothing to reopen');
      store.close();
      return;
    }
    store.saveApp(sampleApp('kept'));
    store.close();
    const again = reopen();
    assert.deepEqual(again.load().apps, [sampleApp('kept')]);
    again.close();
  });
}
