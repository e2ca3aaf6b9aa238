import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INHERITED_ENV_KEYS, internalPorts, machineEnv } from '../../src/machines/drivers/machine-env.ts';
import { testApp, testMachine } from './memory-records.ts';

const machine = testMachine({
  id: 'e2865013b6e786',
  region: 'sjc',
  instance_id: '01HVERSION',
  config: {
    env: { GREETING: 'hi', PORT: '8080', FLY_REGION: 'nope' },
    metadata: { fly_process_group: 'worker' },
    guest: { memory_mb: 512 },
    services: [
      { protocol: 'tcp', internal_port: 8080, ports: [] },
      { protocol: 'tcp', internal_port: 9090, ports: [] },
      { protocol: 'tcp', internal_port: 8080, ports: [] },
    ],
  },
});
const parentEnv = { PATH: '/bin', HOME: '/root', NODE_OPTIONS: '--inspect', SECRET_TOKEN: 'x', LANG: 'C.UTF-8' };

test('machineEnv sets the FLY_* runtime variables, PORT and HOSTNAME', () => {
  const env = machineEnv({ machine, app: testApp({ primary_region: 'iad' }), host: '127.0.0.1', ports: new Map([[8080, 41000], [9090, 41001]]), parentEnv });
  assert.equal(env.PORT, '41000');
  assert.equal(env.RICOCHET_PORT_8080, '41000');
  assert.equal(env.RICOCHET_PORT_9090, '41001');
  assert.equal(env.FLY_APP_NAME, 'tenant');
  assert.equal(env.FLY_MACHINE_ID, 'e2865013b6e786');
  assert.equal(env.FLY_ALLOC_ID, 'e2865013b6e786');
  assert.equal(env.FLY_REGION, 'sjc');
  assert.equal(env.PRIMARY_REGION, 'iad');
  assert.equal(env.FLY_PUBLIC_IP, '127.0.0.1');
  assert.equal(env.FLY_PRIVATE_IP, '127.0.0.1');
  assert.equal(env.FLY_IMAGE_REF, 'registry.fly.io/tenant:v1');
  assert.equal(env.FLY_MACHINE_VERSION, '01HVERSION');
  assert.equal(env.FLY_PROCESS_GROUP, 'worker');
  assert.equal(env.FLY_VM_MEMORY_MB, '512');
  assert.equal(env.HOSTNAME, 'e2865013b6e786');
  assert.equal(env.GREETING, 'hi');
});

test('machineEnv lets Ricochet variables win over config.env', () => {
  const env = machineEnv({ machine, app: undefined, host: '127.0.0.1', ports: new Map([[8080, 41000]]), parentEnv });
  assert.equal(env.PORT, '41000');
  assert.equal(env.FLY_REGION, 'sjc');
});

test('machineEnv inherits only the basics from Ricochet', () => {
  const env = machineEnv({ machine, app: undefined, host: '127.0.0.1', ports: new Map(), parentEnv });
  assert.equal(env.PATH, '/bin');
  assert.equal(env.HOME, '/root');
  assert.equal(env.LANG, 'C.UTF-8');
  assert.equal(env.NODE_OPTIONS, undefined);
  assert.equal(env.SECRET_TOKEN, undefined);
  for (const key of Object.keys(env)) {
    const ours = key.startsWith('FLY_') || key.startsWith('RICOCHET_PORT_') || ['PORT', 'HOSTNAME', 'PRIMARY_REGION', 'GREETING'].includes(key);
    assert.ok(ours || (INHERITED_ENV_KEYS as readonly string[]).includes(key), key);
  }
});

test('machineEnv defaults the process group, memory, primary region and PATH', () => {
  const plain = testMachine({ region: 'ams' });
  const env = machineEnv({ machine: plain, app: undefined, host: '127.0.0.1', ports: new Map(), parentEnv: {} });
  assert.equal(env.FLY_PROCESS_GROUP, 'app');
  assert.equal(env.FLY_VM_MEMORY_MB, '256');
  assert.equal(env.PRIMARY_REGION, 'ams');
  assert.ok(env.PATH.includes('/usr/bin'));
});

test('internalPorts lists distinct internal ports, first service first', () => {
  assert.deepEqual(internalPorts(machine), [8080, 9090]);
});
