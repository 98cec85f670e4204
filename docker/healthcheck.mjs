// The image's HEALTHCHECK: GET /health on this container's metrics server, exit 0 on 200.
// Its address is the one the running process was given: the entrypoint execs the server as
// PID 1, so its flags are in /proc/1/cmdline (--metrics-addr, --listen-metrics-urls), else
// in the environment variables of its subcommand (REGIONSTORE_METRICS_ADDR,
// REGIONSTORE_LISTEN_METRICS_URLS, ETCD_LISTEN_METRICS_URLS for serve; REGIONSTORE_EDGE_*
// for edge), else the serve default. The first of these addresses that answers decides; a
// wildcard host is asked on loopback.
import { readFileSync } from 'node:fs';

/** regionstore serve's --metrics-addr default. */
const DEFAULT_METRICS_ADDR = '127.0.0.1:2381';
/** Well below the HEALTHCHECK --timeout (10 s, Node's start included), so a hung server reports itself. */
const REQUEST_TIMEOUT_MS = 5_000;

function processArgs() {
  try {
    return readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return [];
  }
}

/** The value of --name / -name / --name=value in args. */
function flag(args, name) {
  for (let i = 0; i < args.length; i++) {
    const m = new RegExp(`^--?${name}(?:=(.*))?$`).exec(args[i]);
    if (m !== null) return m[1] ?? args[i + 1];
  }
  return undefined;
}

/** host:port to ask, loopback for a wildcard host. */
function reachable(host, port) {
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '[::1]';
  return `${host}:${port}`;
}

function candidates(args) {
  const edge = args.includes('edge');
  const env = process.env;
  const prefix = edge ? 'REGIONSTORE_EDGE_' : 'REGIONSTORE_';
  const addr = flag(args, 'metrics-addr') ?? env[`${prefix}METRICS_ADDR`];
  const urls = flag(args, 'listen-metrics-urls') ?? env[`${prefix}LISTEN_METRICS_URLS`] ?? (edge ? undefined : env.ETCD_LISTEN_METRICS_URLS);
  const out = [];
  if (addr !== undefined) {
    const sep = addr.lastIndexOf(':');
    out.push(reachable(addr.slice(0, sep), addr.slice(sep + 1)));
  }
  for (const u of (urls ?? '').split(',').filter((x) => x !== '')) {
    try {
      const url = new URL(u);
      out.push(reachable(url.hostname, url.port || '80'));
    } catch {
      // Not a URL: the server refuses it at start; nothing to ask here.
    }
  }
  if (out.length === 0) out.push(DEFAULT_METRICS_ADDR);
  return out;
}

let last = 'no metrics address';
for (const hostPort of candidates(processArgs())) {
  const url = `http://${hostPort}/health`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await res.text();
    console.log(`${url}: ${res.status} ${body.trim()}`);
    process.exit(res.status === 200 ? 0 : 1);
  } catch (err) {
    last = `${url}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
console.log(last);
process.exit(1);
