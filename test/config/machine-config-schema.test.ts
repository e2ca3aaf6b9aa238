import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { machineConfigSchema } from '../../src/config/load.ts';

// The "Create a Machine" example of Fly's Machines API docs.
const DOCS_EXAMPLE = {
  image: 'flyio/fastify-functions',
  env: { APP_ENV: 'production' },
  services: [
    {
      ports: [
        { port: 443, handlers: ['tls', 'http'] },
        { port: 80, handlers: ['http'] },
      ],
      protocol: 'tcp',
      internal_port: 8080,
    },
  ],
  checks: {
    httpget: { type: 'http', port: 8080, method: 'GET', path: '/', interval: '15s', timeout: '10s' },
  },
};

// What flyctl sends on deploy (fly-go's MachineConfig JSON), including fields Ricochet drops.
const FLYCTL_EXAMPLE = {
  init: { cmd: ['node', 'server.js'], swap_size_mb: 512 },
  guest: { cpu_kind: 'shared', cpus: 1, memory_mb: 256 },
  metadata: { fly_flyctl_version: '0.3.120', fly_platform_version: 'v2', fly_process_group: 'app', fly_release_id: 'abc', fly_release_version: '7' },
  env: { FLY_PROCESS_GROUP: 'app', PRIMARY_REGION: 'ams' },
  services: [
    {
      protocol: 'tcp',
      internal_port: 3000,
      autostop: false,
      autostart: true,
      min_machines_running: 1,
      ports: [
        { port: 80, handlers: ['http'], force_https: true },
        { port: 443, handlers: ['http', 'tls'], http_options: { h2_backend: true, response: { headers: { 'X-Powered-By': false, 'X-Frame-Options': 'DENY' } } } },
      ],
      concurrency: { type: 'requests', soft_limit: 200, hard_limit: 250 },
      checks: [{ type: 'tcp', interval: 15_000_000_000, timeout: 2_000_000_000, grace_period: '1s' }],
      force_instance_key: null,
    },
  ],
  mounts: [{ volume: 'vol_123', path: '/data' }],
  files: [{ guest_path: '/etc/x', raw_value: 'eA==' }],
  dns: { skip_registration: false },
  restart: { policy: 'always', max_retries: 3 },
  stop_config: { signal: 'SIGTERM', timeout: '30s' },
  image: 'registry.fly.io/web:deployment-01H',
  auto_destroy: false,
};

test('machineConfigSchema accepts the Machines API docs example and fills every default', () => {
  const config = machineConfigSchema.parse(DOCS_EXAMPLE);
  assert.deepEqual(config, {
    image: 'flyio/fastify-functions',
    env: { APP_ENV: 'production' },
    services: [
      {
        protocol: 'tcp',
        internal_port: 8080,
        ports: [
          { port: 443, handlers: ['tls', 'http'], force_https: false },
          { port: 80, handlers: ['http'], force_https: false },
        ],
        autostop: 'off',
        autostart: true,
        min_machines_running: 0,
        concurrency: { type: 'connections', soft_limit: 20 },
        checks: [],
      },
    ],
    checks: { httpget: { type: 'http', port: 8080, method: 'GET', path: '/', interval: '15s', timeout: '10s', kind: 'informational' } },
    metadata: {},
    init: {},
    restart: { policy: 'on-failure' },
    stop_config: { signal: 'SIGINT', timeout: '5s' },
    auto_destroy: false,
    ricochet: { driver: 'process' },
  });
});

test('machineConfigSchema accepts what flyctl sends, dropping the fields Ricochet has no use for', () => {
  const config = machineConfigSchema.parse(FLYCTL_EXAMPLE);
  const [service] = config.services;
  assert.equal(service.autostop, 'off');
  assert.deepEqual(service.checks, [{ type: 'tcp', interval: '15s', timeout: '2s', grace_period: '1s' }]);
  assert.deepEqual(service.ports[1].http_options, { h2_backend: true, response: { headers: { 'X-Powered-By': false, 'X-Frame-Options': 'DENY' } } });
  assert.deepEqual(config.init, { cmd: ['node', 'server.js'] });
  assert.deepEqual(config.restart, { policy: 'always', max_retries: 3 });
  assert.deepEqual(config.stop_config, { signal: 'SIGTERM', timeout: '30s' });
  assert.equal('mounts' in config, false);
  assert.equal('dns' in config, false);
});

test('machineConfigSchema reads autostop booleans and names as spec §9 says', () => {
  const modes = [true, false, 'off', 'stop', 'suspend'].map((autostop) => {
    const config = machineConfigSchema.parse({ services: [{ internal_port: 80, ports: [{ port: 80 }], autostop }] });
    return config.services[0].autostop;
  });
  assert.deepEqual(modes, ['stop', 'off', 'off', 'stop', 'suspend']);
});

test('machineConfigSchema accepts the ricochet key for both drivers', () => {
  const processConfig = machineConfigSchema.parse({ init: { exec: ['node', 'server.js'] }, ricochet: { driver: 'process', cwd: '/srv/app' } });
  assert.deepEqual(processConfig.ricochet, { driver: 'process', cwd: '/srv/app' });
  const staticConfig = machineConfigSchema.parse({ ricochet: { driver: 'static', address: '127.0.0.1:3000' } });
  assert.deepEqual(staticConfig.ricochet, { driver: 'static', address: '127.0.0.1:3000' });
});

/** Each case: a config and the JSON path of the first issue. */
const REJECTED: [config: unknown, path: (string | number)[]][] = [
  [{ image: 7 }, ['image']],
  [{ env: { PORT: 8080 } }, ['env', 'PORT']],
  [{ services: [{ ports: [{ port: 80 }] }] }, ['services', 0, 'internal_port']],
  [{ services: [{ internal_port: 80, ports: [] }] }, ['services', 0, 'ports']],
  [{ services: [{ internal_port: 80, ports: [{ port: 0 }] }] }, ['services', 0, 'ports', 0, 'port']],
  [{ services: [{ internal_port: 80, ports: [{ port: 65536 }] }] }, ['services', 0, 'ports', 0, 'port']],
  [{ services: [{ internal_port: 80, ports: [{ start_port: 9010, end_port: 9000 }] }] }, ['services', 0, 'ports', 0, 'start_port']],
  [{ services: [{ internal_port: 80, ports: [{ handlers: ['http'] }] }] }, ['services', 0, 'ports', 0, 'port']],
  [{ services: [{ internal_port: 80, ports: [{ port: 80, handlers: ['quic'] }] }] }, ['services', 0, 'ports', 0, 'handlers', 0]],
  [{ services: [{ internal_port: 80, ports: [{ port: 80 }], autostop: 'sometimes' }] }, ['services', 0, 'autostop']],
  [{ services: [{ internal_port: 80, ports: [{ port: 80 }], protocol: 'sctp' }] }, ['services', 0, 'protocol']],
  [{ services: [{ internal_port: 80, ports: [{ port: 80 }], concurrency: { soft_limit: 30, hard_limit: 10 } }] }, ['services', 0, 'concurrency', 'soft_limit']],
  [{ services: [{ internal_port: 80, ports: [{ port: 80 }], checks: [{ type: 'grpc' }] }] }, ['services', 0, 'checks', 0, 'type']],
  [{ services: [{ internal_port: 80, ports: [{ port: 80 }], checks: [{ type: 'tcp', interval: 'often' }] }] }, ['services', 0, 'checks', 0, 'interval']],
  [
    { services: [{ internal_port: 80, ports: [{ port: 80, http_options: { replay_cache: [{ path_prefix: '/a', ttl_seconds: 1, type: 'cookie', name: 's' }] } }] }] },
    ['services', 0, 'ports', 0, 'http_options', 'replay_cache', 0, 'ttl_seconds'],
  ],
  [
    { services: [{ internal_port: 80, ports: [{ port: 80, http_options: { response: { headers: { 'X-A': 'ok\r\nSet-Cookie: x=1' } } } }] }] },
    ['services', 0, 'ports', 0, 'http_options', 'response', 'headers', 'X-A'],
  ],
  [
    { services: [{ internal_port: 80, ports: [{ port: 80, http_options: { response: { headers: { 'X-A': ['ok', 'a\0b'] } } } }] }] },
    ['services', 0, 'ports', 0, 'http_options', 'response', 'headers', 'X-A', 1],
  ],
  [
    { services: [{ internal_port: 80, ports: [{ port: 80, http_options: { response: { headers: { 'Bad Name': 'x' } } } }] }] },
    ['services', 0, 'ports', 0, 'http_options', 'response', 'headers', 'Bad Name'],
  ],
  [{ checks: { web: { type: 'http' } } }, ['checks', 'web', 'port']],
  [{ init: { exec: [] } }, ['init', 'exec']],
  [{ restart: { policy: 'never' } }, ['restart', 'policy']],
  [{ stop_config: { signal: 'SIGWINCH' } }, ['stop_config', 'signal']],
  [{ stop_config: { timeout: '10m' } }, ['stop_config', 'timeout']],
  [{ stop_config: { timeout: 301_000_000_000 } }, ['stop_config', 'timeout']],
  [{ auto_destroy: 'yes' }, ['auto_destroy']],
  [{ ricochet: { driver: 'docker' } }, ['ricochet', 'driver']],
  [{ ricochet: { driver: 'static' } }, ['ricochet', 'address']],
  [{ ricochet: { driver: 'static', address: 'localhost' } }, ['ricochet', 'address']],
];

test('machineConfigSchema rejects bad configs with the JSON path of the bad field', () => {
  for (const [config, path] of REJECTED) {
    const result = machineConfigSchema.safeParse(config);
    assert.equal(result.success, false, JSON.stringify(config));
    assert.deepEqual(result.error?.issues[0].path, path, JSON.stringify(config));
  }
});

test('machineConfigSchema converts to JSON Schema for requests and responses, with descriptions', () => {
  const input = z.toJSONSchema(machineConfigSchema, { io: 'input' }) as { properties: Record<string, { description?: string }> };
  const output = z.toJSONSchema(machineConfigSchema, { io: 'output' }) as { required: string[] };
  for (const key of ['image', 'env', 'services', 'checks', 'metadata', 'init', 'restart', 'stop_config', 'auto_destroy', 'guest', 'ricochet']) {
    assert.equal(typeof input.properties[key]?.description, 'string', key);
  }
  assert.deepEqual(output.required.sort(), ['auto_destroy', 'checks', 'env', 'image', 'init', 'metadata', 'restart', 'ricochet', 'services', 'stop_config']);
});
