import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deriveMachineId, loadConfig, parseConfig } from '../../src/config/load.ts';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/config');
const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/ricochet.example.toml');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('loadConfig(null) returns the documented defaults', () => {
  const { config, warnings } = loadConfig(null, { env: {} });
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    region: 'iad',
    state: resolve(process.cwd(), '.ricochet/state.db'),
    base_domain: 'localhost',
    listen: { host: '127.0.0.1', api: '127.0.0.1:4280', ports: { '80': 8080, '443': 8443 } },
    regions: { iad: 0 },
    region_aliases: {},
    api: { token: null },
    replay: { max_body_bytes: 1_048_576, timeout_ms: 10_000, cache_max_entries: 10_000, max_hops: 10 },
    proxy: { connect_timeout_ms: 5_000, response_timeout_ms: 60_000, drain_timeout_ms: 10_000, max_attempts: 5, pool_connections: 128, queue_max_waiters: 1_000, queue_max_wait_ms: 10_000 },
    machines: { start_timeout_ms: 20_000, autostop_interval_ms: 60_000, max_held_requests: 1_000 },
    orgs: {},
    log: { level: 'info' },
    apps: [],
    path: null,
  });
});

test('an empty file gives the same defaults as no file, with state beside the file', () => {
  const defaults = loadConfig(null, { env: {} }).config;
  const { config } = parseConfig('', '/srv/ricochet/ricochet.toml', { env: {} });
  assert.deepEqual({ ...config, state: null, path: null }, { ...defaults, state: null, path: null });
  assert.equal(config.state, '/srv/ricochet/.ricochet/state.db');
  assert.equal(config.path, '/srv/ricochet/ricochet.toml');
});

test('every ricochet.toml key set in a file comes back in the config', () => {
  const { config, warnings } = loadConfig(join(FIXTURES, 'every-key.toml'), { env: { RICOCHET_API_TOKEN: 'env-token' } });
  assert.deepEqual(warnings, []);
  assert.equal(config.region, 'sjc');
  assert.equal(config.state, join(FIXTURES, 'data/catalog.db'));
  assert.equal(config.base_domain, 'apps.test');
  assert.deepEqual(config.listen, { host: '0.0.0.0', api: '[::1]:5280', ports: { '80': 0, '443': 9443, '5432': 15432 } });
  assert.deepEqual(config.regions, { iad: 62, ams: 140, 'lab-1': 3, sjc: 0 });
  assert.deepEqual(config.region_aliases, { europe: ['ams', 'fra'], bench: ['lab-1'] });
  assert.deepEqual(config.api, { token: 'file-token' });
  assert.deepEqual(config.replay, { max_body_bytes: 2_097_152, timeout_ms: 2_500, cache_max_entries: 50, max_hops: 4 });
  assert.deepEqual(config.proxy, { connect_timeout_ms: 1_500, response_timeout_ms: 30_000, drain_timeout_ms: 0, max_attempts: 3, pool_connections: 16, queue_max_waiters: 7, queue_max_wait_ms: 250 });
  assert.deepEqual(config.machines, { start_timeout_ms: 5_000, autostop_interval_ms: 1_000, max_held_requests: 9 });
  assert.deepEqual(config.orgs, { acme: { replay_sources: ['partner', 'lab'] }, partner: { replay_sources: [] } });
  assert.deepEqual(config.log, { level: 'debug' });
  assert.equal(config.path, join(FIXTURES, 'every-key.toml'));

  const [router, tenant] = config.apps;
  assert.equal(router.name, 'router');
  assert.equal(router.org, 'acme');
  assert.equal(router.network, 'tenants');
  assert.deepEqual(router.hostnames, ['router.example.test', '*.router.example.test']);
  assert.equal(router.primary_region, 'iad');
  assert.deepEqual(router.machine_config.stop_config, { signal: 'SIGTERM', timeout: '45s' });
  assert.deepEqual(router.machine_config.env, { MODE: 'edge', FLY_PROCESS_GROUP: 'app', PRIMARY_REGION: 'iad' });
  assert.deepEqual(router.machine_config.init, {});
  assert.deepEqual(router.machine_config.ricochet, { driver: 'process' });
  const [service] = router.machine_config.services;
  assert.equal(service.internal_port, 4000);
  assert.equal(service.autostop, 'suspend');
  assert.equal(service.autostart, false);
  assert.equal(service.min_machines_running, 1);
  assert.equal(service.ports[0].force_https, true);
  assert.deepEqual(router.machines, [
    { ids: ['3d8d413b29d089'], region: 'lab-1', cmd: ['node', '--enable-source-maps', 'server.js'], cwd: join(FIXTURES, 'apps/router'), address: null },
    { ids: [0, 1, 2].map((k) => deriveMachineId('router', 1, k)), region: 'iad', cmd: ['python3', '-m', 'http.server'], cwd: FIXTURES, address: null },
    { ids: [], region: 'ams', cmd: null, cwd: null, address: 'localhost:7000' },
  ]);

  assert.equal(tenant.name, 'tenant');
  assert.equal(tenant.org, 'personal');
  assert.equal(tenant.network, 'default');
  assert.equal(tenant.primary_region, 'sjc');
  assert.deepEqual(tenant.machine_config.services, []);
  assert.deepEqual(tenant.machines, []);
});

test('RICOCHET_API_TOKEN fills api.token only when the file has none', () => {
  assert.equal(parseConfig('', 'r.toml', { env: { RICOCHET_API_TOKEN: 'secret' } }).config.api.token, 'secret');
  assert.equal(parseConfig('', 'r.toml', { env: { RICOCHET_API_TOKEN: '' } }).config.api.token, null);
  const fromFile = parseConfig('[api]\ntoken = "mine"', 'r.toml', { env: { RICOCHET_API_TOKEN: 'secret' } });
  assert.equal(fromFile.config.api.token, 'mine');
});

test('state ":memory:" is kept as is and an absolute state path is not moved', () => {
  assert.equal(parseConfig('state = ":memory:"', '/a/r.toml', { env: {} }).config.state, ':memory:');
  assert.equal(parseConfig('state = "/var/lib/ricochet.db"', '/a/r.toml', { env: {} }).config.state, '/var/lib/ricochet.db');
});

test("the node's own region is forced to 0 ms, with a warning when the file said otherwise", () => {
  const { config, warnings } = parseConfig('region = "ams"\n[regions]\nams = 12\niad = 80', 'r.toml', { env: {} });
  assert.deepEqual(config.regions, { ams: 0, iad: 80 });
  assert.deepEqual(warnings.map((w) => [w.file, w.key]), [['r.toml', 'regions.ams']]);
});

test('listen.ports given in the file replaces the default map', () => {
  const { config } = parseConfig('[listen]\nports = { 80 = 3000 }', 'r.toml', { env: {} });
  assert.deepEqual(config.listen.ports, { '80': 3000 });
});

test('unknown keys are warnings that name the file and the key path', () => {
  const text = [
    'colour = "blue"',
    '[listen]',
    'hots = "127.0.0.1"',
    '[replay]',
    'max_hop = 3',
    '[[apps]]',
    'name = "a"',
    'hostname = "a.localhost"',
    '  [apps.http_service]',
    '  internal_prot = 3000',
    '  [[apps.machines]]',
    '  cmd = "x"',
    '  regoin = "iad"',
  ].join('\n');
  const { warnings } = parseConfig(text, 'ricochet.toml', { env: {} });
  assert.deepEqual(
    warnings.map((w) => [w.file, w.key]),
    [
      ['ricochet.toml', 'colour'],
      ['ricochet.toml', 'listen.hots'],
      ['ricochet.toml', 'replay.max_hop'],
      ['ricochet.toml', 'apps[0].machines[0].regoin'],
      ['ricochet.toml', 'apps[0].hostname'],
      ['ricochet.toml', 'apps[0].http_service.internal_prot'],
    ],
  );
  for (const w of warnings) assert.match(w.message, /unknown key/);
});

test('the result is deep-frozen', () => {
  const loaded = loadConfig(join(FIXTURES, 'every-key.toml'), { env: {} });
  assert.ok(Object.isFrozen(loaded));
  assert.ok(Object.isFrozen(loaded.warnings));
  assert.ok(Object.isFrozen(loaded.config.listen.ports));
  assert.ok(Object.isFrozen(loaded.config.apps[0].machine_config.services[0].ports[0].handlers));
  assert.ok(Object.isFrozen(loaded.config.apps[0].machines[1].ids));
  assert.throws(() => {
    (loaded.config as { region: string }).region = 'ams';
  }, TypeError);
});

test('machine ids derived from count are the same on every load', () => {
  const text = '[[apps]]\nname = "web"\n[[apps.machines]]\ncount = 2\ncmd = "x"';
  const first = parseConfig(text, 'r.toml', { env: {} }).config.apps[0].machines[0].ids;
  const second = parseConfig(text, 'r.toml', { env: {} }).config.apps[0].machines[0].ids;
  assert.deepEqual(first, second);
  assert.deepEqual(first, [deriveMachineId('web', 0, 0), deriveMachineId('web', 0, 1)]);
});

test('a machine group defaults to the app primary region, and the app to the node region', () => {
  const text = [
    'region = "ams"',
    '[[apps]]',
    'name = "a"',
    '  [[apps.machines]]',
    '  cmd = "x"',
    '[[apps]]',
    'name = "b"',
    'primary_region = "ord"',
    '  [[apps.machines]]',
    '  cmd = "x"',
  ].join('\n');
  const { config } = parseConfig(text, 'r.toml', { env: {} });
  assert.deepEqual(config.apps.map((app) => [app.primary_region, app.machines[0].region]), [['ams', 'ams'], ['ord', 'ord']]);
});

test('a relative state path resolves against the directory of the config file', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'ricochet.toml'), 'state = "db/state.db"\n');
  assert.equal(loadConfig(join(dir, 'ricochet.toml'), { env: {} }).config.state, join(dir, 'db/state.db'));
});

test('the example ricochet.toml loads without warnings and shows the defaults of every node key', () => {
  const { config, warnings } = loadConfig(EXAMPLE, { env: {} });
  assert.deepEqual(warnings, []);
  const defaults = loadConfig(null, { env: {} }).config;
  const strip = ({ apps: _apps, path: _path, state: _state, ...rest }: typeof config) => rest;
  assert.deepEqual(strip(config), strip(defaults));
  assert.equal(config.state, resolve(dirname(EXAMPLE), '.ricochet/state.db'));

  const [router] = config.apps;
  assert.equal(router.name, 'router');
  assert.deepEqual(router.machine_config.stop_config, { signal: 'SIGINT', timeout: '5s' });
  const [service] = router.machine_config.services;
  assert.deepEqual(
    { autostop: service.autostop, autostart: service.autostart, min: service.min_machines_running, concurrency: service.concurrency },
    { autostop: 'off', autostart: true, min: 0, concurrency: { type: 'connections', soft_limit: 20 } },
  );
});
