import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts';

/** Each case: a ricochet.toml body and the key path its ConfigError must name. */
const INVALID: [body: string, key: string][] = [
  ['region = "XX"', 'region'],
  ['region = 3', 'region'],
  ['state = ""', 'state'],
  ['base_domain = "Example.COM"', 'base_domain'],
  ['base_domain = "localhost:8080"', 'base_domain'],
  ['[listen]\nhost = "not a host"', 'listen.host'],
  ['[listen]\napi = "4280"', 'listen.api'],
  ['[listen]\napi = "127.0.0.1:70000"', 'listen.api'],
  ['[listen]\nports = { 80 = 70000 }', 'listen.ports.80'],
  ['[listen]\nports = { 80 = -1 }', 'listen.ports.80'],
  ['[listen]\nports = { 0 = 8080 }', 'listen.ports.0'],
  ['[listen]\nports = { http = 8080 }', 'listen.ports.http'],
  ['[regions]\nIAD = 10', 'regions.IAD'],
  ['[regions]\nsjc = -5', 'regions.sjc'],
  ['[regions]\nsjc = "far"', 'regions.sjc'],
  ['[region_aliases]\neurope = ["ams", "xx!"]', 'region_aliases.europe[1]'],
  ['[region_aliases]\neurope = ["ams", "abcd"]', 'region_aliases.europe[1]'],
  ['[regions]\nams = 5\n[region_aliases]\nams = ["fra"]', 'region_aliases.ams'],
  ['[api]\ntoken = ""', 'api.token'],
  ['[replay]\nmax_body_bytes = -1', 'replay.max_body_bytes'],
  ['[replay]\ntimeout_ms = 0', 'replay.timeout_ms'],
  ['[replay]\ncache_max_entries = 1.5', 'replay.cache_max_entries'],
  ['[replay]\nmax_hops = 0', 'replay.max_hops'],
  ['[proxy]\nconnect_timeout_ms = "5s"', 'proxy.connect_timeout_ms'],
  ['[proxy]\nresponse_timeout_ms = 0', 'proxy.response_timeout_ms'],
  ['[proxy]\ndrain_timeout_ms = -1', 'proxy.drain_timeout_ms'],
  ['[proxy]\nmax_attempts = 0', 'proxy.max_attempts'],
  ['[proxy]\npool_connections = 0', 'proxy.pool_connections'],
  ['[machines]\nstart_timeout_ms = 0', 'machines.start_timeout_ms'],
  ['[machines]\nautostop_interval_ms = true', 'machines.autostop_interval_ms'],
  ['[orgs.Acme]\nreplay_sources = []', 'orgs.Acme'],
  ['[orgs.acme]\nreplay_sources = ["Bad Org"]', 'orgs.acme.replay_sources[0]'],
  ['[log]\nlevel = "loud"', 'log.level'],
  ['apps = [1]', 'apps[0]'],
  ['[[apps]]\nname = "A_b"', 'apps[0].name'],
  ['[[apps]]\nname = "-a"', 'apps[0].name'],
  ['[[apps]]\norg = "x"', 'apps[0].name'],
  ['[[apps]]\nname = "a"\norg = "Big Co"', 'apps[0].org'],
  ['[[apps]]\nname = "a"\nnetwork = "my_net"', 'apps[0].network'],
  ['[[apps]]\nname = "a"\nhostnames = ["X.localhost"]', 'apps[0].hostnames[0]'],
  ['[[apps]]\nname = "a"\nhostnames = ["a.localhost:80"]', 'apps[0].hostnames[0]'],
  ['[[apps]]\nname = "a"\nhostnames = ["*.*.localhost"]', 'apps[0].hostnames[0]'],
  ['[[apps]]\nname = "a"\nfly_toml = "does/not/exist.toml"', 'apps[0].fly_toml'],
  ['[[apps]]\nname = "a"\nprimary_region = "zzzz"', 'apps[0].primary_region'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\nregion = "xx!"\ncmd = "x"', 'apps[0].machines[0].region'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\nregion = "abcd"\ncmd = "x"', 'apps[0].machines[0].region'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\nid = "3D8D413B29D089"\ncmd = "x"', 'apps[0].machines[0].id'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\nid = "3d8d413b29d0"\ncmd = "x"', 'apps[0].machines[0].id'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\nid = "3d8d413b29d089"\ncount = 2\ncmd = "x"', 'apps[0].machines[0].count'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\ncount = -1\ncmd = "x"', 'apps[0].machines[0].count'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\ncount = 100000\ncmd = "x"', 'apps[0].machines[0].count'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\ncount = 2', 'apps[0].machines[0].cmd'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\ncmd = "  "', 'apps[0].machines[0].cmd'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\ncmd = []', 'apps[0].machines[0].cmd'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\ncmd = "x"\naddress = "127.0.0.1:3000"', 'apps[0].machines[0].address'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\naddress = "127.0.0.1"', 'apps[0].machines[0].address'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\naddress = "127.0.0.1:0"', 'apps[0].machines[0].address'],
  ['[[apps]]\nname = "a"\n[[apps.machines]]\naddress = "127.0.0.1:3000"\ncwd = "x"', 'apps[0].machines[0].cwd'],
  ['[[apps]]\nname = "a"\nkill_signal = "SIGFOO"', 'apps[0].kill_signal'],
  ['[[apps]]\nname = "a"\nkill_timeout = 301', 'apps[0].kill_timeout'],
  ['[[apps]]\nname = "a"\nkill_timeout = "6m"', 'apps[0].kill_timeout'],
  ['[[apps]]\nname = "a"\nkill_timeout = "soon"', 'apps[0].kill_timeout'],
  ['[[apps]]\nname = "a"\n[apps.env]\nWHEN = 1979-05-27', 'apps[0].env.WHEN'],
  ['[[apps]]\nname = "a"\n[apps.http_service]\ninternal_port = 0', 'apps[0].http_service.internal_port'],
  ['[[apps]]\nname = "a"\n[apps.http_service]\nauto_stop_machines = "sometimes"', 'apps[0].http_service.auto_stop_machines'],
  ['[[apps]]\nname = "a"\n[apps.http_service]\nauto_start_machines = "yes"', 'apps[0].http_service.auto_start_machines'],
  ['[[apps]]\nname = "a"\n[apps.http_service]\nmin_machines_running = -1', 'apps[0].http_service.min_machines_running'],
  ['[[apps]]\nname = "a"\n[apps.http_service.concurrency]\ntype = "bytes"', 'apps[0].http_service.concurrency.type'],
  ['[[apps]]\nname = "a"\n[apps.http_service.concurrency]\nsoft_limit = 30\nhard_limit = 10', 'apps[0].http_service.concurrency.soft_limit'],
  ['[[apps]]\nname = "a"\n[[apps.http_service.checks]]\ninterval = "10 seconds"', 'apps[0].http_service.checks[0].interval'],
  ['[[apps]]\nname = "a"\n[[apps.http_service.checks]]\npath = "health"', 'apps[0].http_service.checks[0].path'],
  ['[[apps]]\nname = "a"\n[[apps.http_service.http_options.replay_cache]]\npath_prefix = "https://x/api"\nttl_seconds = 60\ntype = "cookie"\nname = "s"', 'apps[0].http_service.http_options.replay_cache[0].path_prefix'],
  ['[[apps]]\nname = "a"\n[[apps.http_service.http_options.replay_cache]]\npath_prefix = "/api"\nttl_seconds = 5\ntype = "cookie"\nname = "s"', 'apps[0].http_service.http_options.replay_cache[0].ttl_seconds'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\ninternal_port = 80', 'apps[0].services[0].ports'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\nports = [{ port = 80 }]', 'apps[0].services[0].internal_port'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\ninternal_port = 80\nprotocol = "sctp"\nports = [{ port = 80 }]', 'apps[0].services[0].protocol'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\ninternal_port = 80\n[[apps.services.ports]]\nport = 70000', 'apps[0].services[0].ports[0].port'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\ninternal_port = 80\n[[apps.services.ports]]\nstart_port = 9000\nend_port = 8000', 'apps[0].services[0].ports[0].start_port'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\ninternal_port = 80\n[[apps.services.ports]]\nstart_port = 9000', 'apps[0].services[0].ports[0].end_port'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\ninternal_port = 80\n[[apps.services.ports]]\nport = 80\nstart_port = 81\nend_port = 82', 'apps[0].services[0].ports[0].start_port'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\ninternal_port = 80\n[[apps.services.ports]]\nport = 80\nhandlers = ["h3"]', 'apps[0].services[0].ports[0].handlers[0]'],
  ['[[apps]]\nname = "a"\n[[apps.services]]\ninternal_port = 80\n[[apps.services.ports]]\nport = 80\n[[apps.services.tcp_checks]]\ntimeout = -1', 'apps[0].services[0].tcp_checks[0].timeout'],
  ['[[apps]]\nname = "a"\n[apps.checks.x]\ntype = "grpc"\nport = 80', 'apps[0].checks.x.type'],
  ['[[apps]]\nname = "a"\n[apps.checks.x]\ntype = "tcp"', 'apps[0].checks.x.port'],
  ['[[apps]]\nname = "a"\n[[apps.restart]]\npolicy = "no"', 'apps[0].restart[0].policy'],
  ['[[apps]]\nname = "a"\n[[apps]]\nname = "a"', 'apps[1].name'],
  ['[[apps]]\nname = "a"\nhostnames = ["x.localhost"]\n[[apps]]\nname = "b"\nhostnames = ["x.localhost"]', 'apps[1].hostnames[0]'],
  ['[[apps]]\nname = "a"\nhostnames = ["*.x.localhost"]\n[[apps]]\nname = "b"\nhostnames = ["*.x.localhost"]', 'apps[1].hostnames[0]'],
  ['[[apps]]\nname = "a"\nhostnames = ["b.localhost"]\n[[apps]]\nname = "b"', 'apps[0].hostnames[0]'],
  [
    '[[apps]]\nname = "a"\n[[apps.machines]]\nid = "3d8d413b29d089"\ncmd = "x"\n[[apps]]\nname = "b"\n[[apps.machines]]\nid = "3d8d413b29d089"\ncmd = "y"',
    'apps[1].machines[0].id',
  ],
];

test('each invalid value is a CONFIG_INVALID ConfigError naming the file and the key', () => {
  for (const [body, key] of INVALID) {
    assert.throws(
      () => parseConfig(body, 'ricochet.toml', { env: {} }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${body}: ${String(error)}`);
        assert.equal(error.key, key, `${body}: ${error.message}`);
        assert.equal(error.file, 'ricochet.toml', body);
        assert.equal(error.code, key === 'apps[0].fly_toml' ? 'CONFIG_READ' : 'CONFIG_INVALID', body);
        return true;
      },
    );
  }
});

test('a ConfigError message names the file, the key, the value and what is allowed', () => {
  assert.throws(
    () => parseConfig('[[apps]]\nname = "a"\n[[apps.machines]]\ncmd = "x"\n[[apps.machines]]\nregion = "xx!"\ncmd = "x"', 'ricochet.toml', { env: {} }),
    {
      name: 'ConfigError',
      code: 'CONFIG_INVALID',
      key: 'apps[0].machines[1].region',
      message: 'ricochet.toml: apps[0].machines[1].region: "xx!" is not a region code (3 lowercase letters or a configured region)',
    },
  );
});

test('a region listed in [regions] is accepted even when it is not a Fly region code', () => {
  const { config } = parseConfig('[regions]\nlab-1 = 4\n[[apps]]\nname = "a"\nprimary_region = "lab-1"', 'r.toml', { env: {} });
  assert.equal(config.apps[0].primary_region, 'lab-1');
});

test('text that is not TOML is a CONFIG_SYNTAX error', () => {
  assert.throws(
    () => parseConfig('region = "iad"\nports = [1,\n', 'ricochet.toml', { env: {} }),
    (error: unknown) => error instanceof ConfigError && error.code === 'CONFIG_SYNTAX' && error.file === 'ricochet.toml' && error.key === '',
  );
});

test('a config file that cannot be read is a CONFIG_READ error', () => {
  const missing = join(tmpdir(), 'ricochet-no-such-dir', 'ricochet.toml');
  assert.throws(
    () => loadConfig(missing, { env: {} }),
    (error: unknown) => error instanceof ConfigError && error.code === 'CONFIG_READ' && error.file === missing,
  );
});
