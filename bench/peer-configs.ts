/**
 * peer-configs writes the configs of the non-Node peers, as in shared/bench-calibration.md
 * "Method", with the ports and temp paths of one case. Pure: values in, text out.
 */

/** PeerConfigInput is what every peer config needs. */
export interface PeerConfigInput {
  /** Port the peer listens on (127.0.0.1). */
  listenPort: number;
  /** Port of the backend (127.0.0.1). */
  backendPort: number;
  /** Fresh directory of this case, for pid and temp files. */
  dir: string;
}

/**
 * nginxHttpCommon is what every nginx the bench starts (the peer, a backend) has in its `http`
 * block: no access log, keep-alive limits out of the way of a run, and every temp path in `dir`.
 */
export function nginxHttpCommon(dir: string): string {
  return `  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;`;
}

/**
 * nginxConf is one worker with raised keep-alive limits and upstream keep-alive 64. Two
 * additions for the upload scenario, which do not touch GETs: a body limit above 1 MiB and no
 * request buffering, so that nginx streams uploads like the other peers instead of spooling
 * them to a temp file.
 */
export function nginxConf(input: PeerConfigInput): string {
  const d = input.dir;
  return `worker_processes 1;
daemon off;
worker_rlimit_nofile 30000;
pid ${d}/nginx.pid;
error_log stderr warn;
events { worker_connections 20000; }
http {
${nginxHttpCommon(d)}
  client_max_body_size 2m;
  proxy_request_buffering off;
  upstream backend {
    server 127.0.0.1:${input.backendPort};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${input.listenPort};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** haproxyCfg is one thread with `http-reuse always`. */
export function haproxyCfg(input: PeerConfigInput): string {
  return `global
  nbthread 1
  maxconn 9000
defaults
  mode http
  timeout connect 5s
  timeout client 65s
  timeout server 65s
  timeout http-keep-alive 65s
  http-reuse always
frontend fe
  bind 127.0.0.1:${input.listenPort}
  default_backend be
backend be
  server s1 127.0.0.1:${input.backendPort}
`;
}

/** caddyfile is Caddy's defaults (which add X-Forwarded-*) with the admin API and HTTPS off. */
export function caddyfile(input: PeerConfigInput): string {
  return `{
\tadmin off
\tauto_https off
}
http://127.0.0.1:${input.listenPort} {
\treverse_proxy 127.0.0.1:${input.backendPort}
}
`;
}
