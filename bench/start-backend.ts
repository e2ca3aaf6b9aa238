/**
 * startBackend starts one backend of a case, of the kind `--backend` chose: bench/backend.ts on
 * node:http (the default) or an nginx worker configured by nginxBackendConf, which answers the
 * same and costs core 1 less (bench/README.md "Backend"). Every backend a case starts goes
 * through here.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BackendMode } from './cases.ts';
import { findExecutable } from './cases.ts';
import { NGINX_BACKEND_64K_FILE, nginxBackendConf } from './nginx-backend-conf.ts';
import type { ProcessGroup, StartedProcess } from './process-group.ts';

/** BACKEND_KINDS are the values of `--backend`; the first is the default. */
export const BACKEND_KINDS = ['node', 'nginx'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

const BODY_64K_BYTES = 65536;

/** BackendStart is one backend to start. */
export interface BackendStart {
  group: ProcessGroup;
  kind: BackendKind;
  mode: BackendMode;
  /** Port on 127.0.0.1, found free by the caller. */
  port: number;
  /** Core list for taskset. */
  core: string;
  /**
   * A directory of this backend's own (created here) for nginx's config, pid, temp paths and
   * the 64 KiB file. nginx's worker drops root, so every parent must be traversable by others.
   */
  dir: string;
  /** Node 24 binary and bench/, for the node backend. */
  node: string;
  benchDir: string;
}

/** missingBackend returns why backends of `kind` cannot start on this machine, or null. */
export function missingBackend(kind: BackendKind): string | null {
  if (kind === 'nginx' && findExecutable('nginx') === null) {
    return 'nginx is not installed, and --backend nginx needs it (see bench/README.md)';
  }
  return null;
}

/** startBackend spawns the backend pinned to `core`; it listens once it answers on `port`. */
export function startBackend(options: BackendStart): StartedProcess {
  const { group, mode, port, core } = options;
  if (options.kind === 'node') {
    return group.start({
      name: `backend (${mode})`,
      core,
      command: options.node,
      args: [path.join(options.benchDir, 'backend.ts'), '--port', String(port), '--mode', mode],
    });
  }
  const nginx = findExecutable('nginx');
  if (nginx === null) throw new Error(`Cannot start the nginx backend: ${missingBackend('nginx')}`);
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  // The worker (nobody) reads the 64 KiB file and its temp paths here; the umask may have narrowed the mode.
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, NGINX_BACKEND_64K_FILE), Buffer.alloc(BODY_64K_BYTES, 'x'), { mode: 0o644 });
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, nginxBackendConf({ port, mode, dir }));
  // -e: the error log before the config is read; -p: prefix, so nothing outside dir is used.
  return group.start({ name: `nginx backend (${mode})`, core, command: nginx, args: ['-e', 'stderr', '-p', dir, '-c', file] });
}
