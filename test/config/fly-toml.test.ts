import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import type { MachineConfig } from '../../src/catalog/types.ts';
import { ConfigError, flyTomlToMachineConfig, loadConfig, parseConfig } from '../../src/config/load.ts';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/config');
const WEB_FLY_TOML = join(FIXTURES, 'apps/web/fly.toml');

function flyToml(text: string) {
  return flyTomlToMachineConfig(parse(text) as Record<string, unknown>, 'fly.toml');
}

/** writeTree writes files under a fresh temp dir removed after the test; returns the dir. */
function writeTree(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ricochet-fly-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const WEB_MACHINE_CONFIG: MachineConfig = {
  image: '',
  env: {
    PORT: '3000',
    RAILS_ENV: 'production',
    WEB_CONCURRENCY: '2',
    RAILS_LOG_TO_STDOUT: 'true',
    FLY_PROCESS_GROUP: 'app',
    PRIMARY_REGION: 'ams',
  },
  services: [
    {
      protocol: 'tcp',
      internal_port: 3000,
      ports: [
        {
          port: 80,
          handlers: ['http'],
          force_https: true,
          http_options: { replay_cache: [{ path_prefix: '/api', ttl_seconds: 300, type: 'cookie', name: 'session_id', allow_bypass: true }] },
        },
        {
          port: 443,
          handlers: ['tls', 'http'],
          force_https: false,
          http_options: { replay_cache: [{ path_prefix: '/api', ttl_seconds: 300, type: 'cookie', name: 'session_id', allow_bypass: true }] },
        },
      ],
      autostop: 'stop',
      autostart: true,
      min_machines_running: 1,
      concurrency: { type: 'requests', soft_limit: 200, hard_limit: 250 },
      checks: [
        {
          type: 'http',
          interval: '10s',
          timeout: '2s',
          grace_period: '5s',
          method: 'GET',
          path: '/up',
          protocol: 'http',
          headers: [{ name: 'X-Forwarded-Proto', values: ['https'] }],
        },
      ],
    },
    {
      protocol: 'tcp',
      internal_port: 5432,
      ports: [
        { port: 5432, handlers: ['pg_tls'], force_https: false },
        { start_port: 10000, end_port: 10099, handlers: [], force_https: false },
      ],
      autostop: 'off',
      autostart: true,
      min_machines_running: 0,
      concurrency: { type: 'connections', soft_limit: 20, hard_limit: 25 },
      checks: [{ type: 'tcp', interval: '15s', timeout: '2s', grace_period: '1s' }],
    },
  ],
  checks: {
    alive: { type: 'tcp', port: 3000, interval: '30s', timeout: '5s', grace_period: '10s', kind: 'informational' },
    health: { type: 'http', port: 3000, interval: '15s', timeout: '3s', path: '/healthz', kind: 'informational' },
  },
  metadata: { fly_platform_version: 'v2', fly_process_group: 'app' },
  init: {},
  restart: { policy: 'on-failure', max_retries: 3 },
  stop_config: { signal: 'SIGTERM', timeout: '30s' },
  auto_destroy: false,
  ricochet: { driver: 'process' },
};

test('flyTomlToMachineConfig converts a fly launch fly.toml the way flyctl deploys it', () => {
  const table = parse(readFileSync(WEB_FLY_TOML, 'utf8')) as Record<string, unknown>;
  const result = flyTomlToMachineConfig(table, WEB_FLY_TOML);
  assert.deepEqual(result.config, WEB_MACHINE_CONFIG);
  assert.equal(result.appName, 'web-shop');
  assert.equal(result.primaryRegion, 'ams');
  // [build], [deploy], [[vm]], [experimental], swap_size_mb, console_command: silently ignored.
  assert.deepEqual(result.warnings.map((w) => [w.file, w.key]), [[WEB_FLY_TOML, 'processes']]);
});

test('a fly.toml named by [[apps]] is loaded unchanged and the [[apps]] keys override it', () => {
  const { config, warnings } = loadConfig(join(FIXTURES, 'with-fly-toml.toml'), { env: {} });
  const [app] = config.apps;
  assert.equal(app.name, 'web-shop');
  assert.equal(app.primary_region, 'ams');
  assert.deepEqual(app.hostnames, ['shop.localhost', '*.shop.localhost']);
  const expected = structuredClone(WEB_MACHINE_CONFIG);
  expected.services[0].internal_port = 3100; // [apps.http_service] internal_port
  expected.checks.alive.port = 3100; // a check without a port follows [http_service]
  expected.stop_config.timeout = '10s'; // kill_timeout = 10 (seconds)
  assert.deepEqual(app.machine_config, expected);
  assert.deepEqual(app.machines, [
    { ids: app.machines[0].ids, region: 'ams', cmd: ['node', 'server.js'], cwd: join(FIXTURES, 'apps/web'), address: null },
    { ids: app.machines[1].ids, region: 'iad', cmd: null, cwd: null, address: '127.0.0.1:3999' },
  ]);
  assert.deepEqual(warnings.map((w) => [w.file, w.key]), [[join(FIXTURES, 'apps/web/fly.toml'), 'processes']]);
});

test('[http_service] alone gets every default filled in', () => {
  const { config } = flyToml('app = "a"\n[http_service]\n');
  assert.deepEqual(config.services, [
    {
      protocol: 'tcp',
      internal_port: 8080,
      ports: [
        { port: 80, handlers: ['http'], force_https: false },
        { port: 443, handlers: ['tls', 'http'], force_https: false },
      ],
      autostop: 'off',
      autostart: true,
      min_machines_running: 0,
      concurrency: { type: 'connections', soft_limit: 20 },
      checks: [],
    },
  ]);
  assert.deepEqual(config.stop_config, { signal: 'SIGINT', timeout: '5s' });
  assert.deepEqual(config.restart, { policy: 'on-failure' });
  assert.deepEqual(config.env, { FLY_PROCESS_GROUP: 'app' });
});

test('auto_stop_machines accepts booleans and mode names', () => {
  const cases: [string, string][] = [['true', 'stop'], ['false', 'off'], ['"off"', 'off'], ['"stop"', 'stop'], ['"suspend"', 'suspend']];
  for (const [value, mode] of cases) {
    const { config } = flyToml(`[http_service]\nauto_stop_machines = ${value}`);
    assert.equal(config.services[0].autostop, mode, value);
  }
});

test('check durations take "10s" strings or integer milliseconds; kill_timeout takes integer seconds', () => {
  const { config } = flyToml(
    [
      'kill_timeout = 120',
      '[http_service]',
      '  [[http_service.checks]]',
      '  interval = 1500',
      '  timeout = "750ms"',
      '  grace_period = 60000',
    ].join('\n'),
  );
  assert.deepEqual(
    config.services[0].checks?.map(({ interval, timeout, grace_period }) => ({ interval, timeout, grace_period })),
    [{ interval: '1500ms', timeout: '750ms', grace_period: '60s' }],
  );
  assert.equal(config.stop_config.timeout, '120s');
});

test('older fly.toml spellings load as flyctl reads them', () => {
  const { config } = flyToml(
    [
      '[env]',
      'WORKERS = 4',
      'DEBUG = false',
      '[services]',
      'internal_port = "8080"',
      'concurrency = "20,25"',
      '  [services.ports]',
      '  port = "80"',
      '  handlers = ["http"]',
      '[[checks]]',
      'name = "ping"',
      'type = "tcp"',
      'port = 8080',
      '[restart]',
      'policy = "never"',
    ].join('\n'),
  );
  assert.deepEqual(config.env, { WORKERS: '4', DEBUG: 'false', FLY_PROCESS_GROUP: 'app' });
  assert.equal(config.services[0].internal_port, 8080);
  assert.deepEqual(config.services[0].ports, [{ port: 80, handlers: ['http'], force_https: false }]);
  assert.deepEqual(config.services[0].concurrency, { type: 'requests', soft_limit: 20, hard_limit: 25 });
  assert.deepEqual(config.checks, { ping: { type: 'tcp', port: 8080, kind: 'informational' } });
  assert.deepEqual(config.restart, { policy: 'no' });
});

test('the last [[restart]] entry for the app process group wins', () => {
  const { config } = flyToml(
    [
      '[[restart]]',
      'policy = "always"',
      '[[restart]]',
      'policy = "on-failure"',
      'retries = 7',
      '[[restart]]',
      'policy = "never"',
      'processes = ["worker"]',
    ].join('\n'),
  );
  assert.deepEqual(config.restart, { policy: 'on-failure', max_retries: 7 });
});

test('a hard_limit below 20 alone lowers the default soft limit to it', () => {
  const { config } = flyToml('[http_service]\n[http_service.concurrency]\nhard_limit = 5');
  assert.deepEqual(config.services[0].concurrency, { type: 'connections', soft_limit: 5, hard_limit: 5 });
});

test('fly.toml keys Ricochet does not emulate are ignored, with a warning for the ones an app may rely on', () => {
  const { warnings } = flyToml(
    [
      'swap_size_mb = 512',
      '[build]',
      'image = "flyio/hellofly:latest"',
      '[deploy]',
      'strategy = "bluegreen"',
      '[[vm]]',
      'memory = "1gb"',
      '[[mounts]]',
      'source = "data"',
      'destination = "/data"',
      '[[statics]]',
      'guest_path = "/app/public"',
      'url_prefix = "/static/"',
    ].join('\n'),
  );
  assert.deepEqual(warnings.map((w) => w.key), ['mounts', 'statics']);
});

test('unknown keys in a fly.toml are warnings naming the fly.toml; in [[apps]] they name ricochet.toml', (t) => {
  const dir = writeTree(t, {
    'app/fly.toml': 'app = "a"\nprimary_regoin = "iad"\n[http_service]\ninternal_port = 3000\nforce_http = true\n',
    'ricochet.toml': '[[apps]]\nfly_toml = "app/fly.toml"\nkill_timout = 3\n[apps.http_service]\nauto_stop = true\n',
  });
  const { warnings } = loadConfig(join(dir, 'ricochet.toml'), { env: {} });
  assert.deepEqual(
    warnings.map((w) => [w.file, w.key]).sort(),
    [
      [join(dir, 'app/fly.toml'), 'primary_regoin'],
      [join(dir, 'app/fly.toml'), 'http_service.force_http'],
      [join(dir, 'ricochet.toml'), 'apps[0].http_service.auto_stop'],
      [join(dir, 'ricochet.toml'), 'apps[0].kill_timout'],
    ].sort(),
  );
});

test('a bad value in a fly.toml is reported in the fly.toml, and one in [[apps]] in ricochet.toml', (t) => {
  const dir = writeTree(t, {
    'app/fly.toml': 'app = "a"\n[http_service]\ninternal_port = 3000\nauto_start_machines = "yes"\n',
  });
  const inFly = () => parseConfig('[[apps]]\nfly_toml = "app/fly.toml"\n', join(dir, 'ricochet.toml'), { env: {} });
  assert.throws(inFly, (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.equal(error.file, join(dir, 'app/fly.toml'));
    assert.equal(error.key, 'http_service.auto_start_machines');
    return true;
  });

  const overridden = '[[apps]]\nfly_toml = "app/fly.toml"\n[apps.http_service]\nauto_start_machines = true\ninternal_port = 0\n';
  assert.throws(
    () => parseConfig(overridden, join(dir, 'ricochet.toml'), { env: {} }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.file, join(dir, 'ricochet.toml'));
      assert.equal(error.key, 'apps[0].http_service.internal_port');
      return true;
    },
  );
});

test('a fly.toml that is not TOML is a syntax error naming the fly.toml', (t) => {
  const dir = writeTree(t, { 'fly.toml': 'app = "a"\n[http_service\n' });
  assert.throws(
    () => parseConfig('[[apps]]\nfly_toml = "fly.toml"\n', join(dir, 'ricochet.toml'), { env: {} }),
    (error: unknown) => error instanceof ConfigError && error.code === 'CONFIG_SYNTAX' && error.file === join(dir, 'fly.toml'),
  );
});

test('a top-level check without a port and without [http_service] is refused', () => {
  assert.throws(
    () => flyToml('[checks.db]\ntype = "tcp"\n'),
    (error: unknown) => error instanceof ConfigError && error.code === 'CONFIG_INVALID' && error.key === 'checks.db.port' && error.file === 'fly.toml',
  );
});
