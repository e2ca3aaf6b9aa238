/**
 * nginx-backend-conf writes the config of the nginx backend (`--backend nginx`): one worker that
 * answers what bench/backend.ts answers in the same mode, so that a backend on core 1 costs
 * less than a node:http one and the proxy on core 0 stays saturated (bench/README.md
 * "Backend"; shared/bench-calibration.md "Ceiling when the backend is not the bottleneck").
 * Pure: values in, text out.
 */
import type { BackendMode } from './cases.ts';
import { nginxHttpCommon } from './peer-configs.ts';

/** NGINX_BACKEND_64K_FILE is the file, in the backend's dir, that `GET /64k` serves. */
export const NGINX_BACKEND_64K_FILE = '64k';

/** NginxBackendConfInput is one nginx backend: its port, mode and own directory. */
export interface NginxBackendConfInput {
  /** Port it listens on (127.0.0.1). */
  port: number;
  mode: BackendMode;
  /** Its own directory: pid file, temp paths and the 64 KiB file; readable by nginx's worker. */
  dir: string;
}

/**
 * plainServer answers as backend.ts's plain mode: a request with a body gets its length and a
 * newline (nginx reads and discards the body first), `/64k` the 65,536-byte file, anything else
 * `hello, world\n`. A chunked body has no Content-Length to answer with, so it gets a 501
 * that names the reason and fails the case's probe, rather than a wrong 200.
 */
function plainServer(dir: string): string {
  return `    default_type text/plain;
    if ($http_transfer_encoding) {
      return 501 "the nginx backend counts only bodies with a Content-Length, got Transfer-Encoding: $http_transfer_encoding\\n";
    }
    if ($content_length) {
      return 200 "$content_length\\n";
    }
    location = /64k {
      alias ${dir}/${NGINX_BACKEND_64K_FILE};
    }
    location / {
      return 200 "hello, world\\n";
    }`;
}

/**
 * replayServer answers every request 200 with `fly-replay: app=target` and an empty body, plus
 * the replay-cache headers in `replay-cache` mode (spec §5.3). An empty default_type keeps out
 * the Content-Type that backend.ts does not send either.
 */
function replayServer(mode: BackendMode): string {
  const cache = mode === 'replay-cache'
    ? `
    add_header fly-replay-cache "/*" always;
    add_header fly-replay-cache-ttl-secs 60 always;`
    : '';
  return `    default_type "";
    add_header fly-replay app=target always;${cache}
    return 200 "";`;
}

/**
 * nginxBackendConf is the whole nginx.conf of one backend: 1 worker, `daemon off`, keep-alive
 * limits raised as in the nginx peer, no access log, errors to stderr, every path in `dir`. A
 * backend sees a few hundred connections at most (a proxy's pool, or wrk's 50 for `direct`), so
 * 4096 worker connections fit the inherited open-file limit; `worker_rlimit_nofile` is left out
 * because a worker that dropped root cannot raise it.
 */
export function nginxBackendConf(input: NginxBackendConfInput): string {
  const d = input.dir;
  return `worker_processes 1;
daemon off;
pid ${d}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
${nginxHttpCommon(d)}
  # 0: no size limit, so any upload is read (and discarded) before the answer.
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${input.port};
${input.mode === 'plain' ? plainServer(d) : replayServer(input.mode)}
  }
}
`;
}
