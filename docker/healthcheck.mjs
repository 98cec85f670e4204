// The image's HEALTHCHECK: GET /health on this container's metrics port, exit 0 on 200.
// The port is the one the running process was given: its --metrics-addr flag (read from
// /proc/1/cmdline, the entrypoint execs the server as PID 1), else the environment
// variable of its subcommand (REGIONSTORE_METRICS_ADDR, REGIONSTORE_EDGE_METRICS_ADDR),
// else the serve default. A wildcard host is asked on loopback.
import { readFileSync } from 'node:fs';

/** regionstore serve's --metrics-addr default. */
const DEFAULT_METRICS_ADDR = '127.0.0.1:2381';
/** Below the HEALTHCHECK --timeout, so a hung server reports itself, not a killed check. */
const REQUEST_TIMEOUT_MS = 2_500;

function processArgs() {
  try {
    return readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return [];
  }
}

function metricsAddr(args) {
  for (let i = 0; i < args.length; i++) {
    const m = /^--?metrics-addr(?:=(.*))?$/.exec(args[i]);
    if (m !== null) return m[1] ?? args[i + 1] ?? DEFAULT_METRICS_ADDR;
  }
  const env = args.includes('edge') ? process.env.REGIONSTORE_EDGE_METRICS_ADDR : process.env.REGIONSTORE_METRICS_ADDR;
  return env ?? DEFAULT_METRICS_ADDR;
}

const addr = metricsAddr(processArgs());
const sep = addr.lastIndexOf(':');
let host = addr.slice(0, sep);
if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
if (host === '::' || host === '[::]') host = '[::1]';
const url = `http://${host}:${addr.slice(sep + 1)}/health`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.text();
  console.log(`${url}: ${res.status} ${body.trim()}`);
  process.exit(res.status === 200 ? 0 : 1);
} catch (err) {
  console.log(`${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
