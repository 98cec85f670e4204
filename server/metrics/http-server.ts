// The node's HTTP side door on --metrics-addr (plain node:http, never the gRPC port, so a
// scrape keeps working while the API is overloaded):
//   GET /metrics      Prometheus text exposition of the node's registry
//   GET /health       etcd-style {"health":"true"|"false","reason":"..."}; 200 or 503
//   GET /status.json  the node's key figures (NodeStatusSnapshot + extras), for the page and tools
//   GET /dashboard.json  the region as this member sees it (dashboard-data.ts), when the
//                     node gives a source (region members; an edge answers 404)
//   GET /             a self-contained HTML dashboard that polls /status.json and /dashboard.json
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { DASHBOARD_HTML } from './dashboard.js';
import type { NodeStatusSnapshot } from './node-metrics.js';
import { METRICS_PORT_WINDOW, inScrapeWindow, type ScrapeWindow } from './event-loop-delay.js';

/** A health check that does not answer in this time counts as unhealthy. */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;
/** etcd's reason text when the node sees no leader (etcdctl and operators know it). */
export const REASON_NO_LEADER = 'RAFT NO LEADER';

export interface HealthResult {
  healthy: boolean;
  /** Why not, for a person: empty when healthy. */
  reason?: string;
}
/** What a /health request asks to leave out: etcd's `?exclude=NOSPACE` (repeatable). */
export interface HealthQuery {
  excludedAlarms: ReadonlySet<string>;
}
export type HealthCheck = (query?: HealthQuery) => HealthResult | Promise<HealthResult>;

/** The query of a /health URL: every `exclude` value is an alarm name to ignore. */
export function parseHealthQuery(url: string | undefined): HealthQuery {
  const params = new URL(url ?? '/', 'http://localhost').searchParams;
  return { excludedAlarms: new Set(params.getAll('exclude').map((a) => a.toUpperCase())) };
}

export interface MetricsServerOptions {
  registry: Registry;
  /** The latest figures (from NodeMetricsHandle.snapshot). */
  snapshot: () => NodeStatusSnapshot;
  /** Default: healthy when the snapshot says this node sees a leader. */
  health?: HealthCheck;
  /** Extra fields merged into /status.json (e.g. member id, client URLs, leader id). */
  status?: () => Record<string, unknown>;
  /** The dashboard's data (dashboard-feed.ts); without it /dashboard.json answers 404. */
  dashboard?: () => Promise<unknown>;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** 0 lets the OS choose; the chosen port is returned. */
  port: number;
}

export interface MetricsServer {
  port: number;
  /** http://host:port, for logs and tools. */
  url: string;
  close(): Promise<void>;
}

export function defaultHealth(snapshot: () => NodeStatusSnapshot): HealthCheck {
  return () => (snapshot().hasLeader ? { healthy: true } : { healthy: false, reason: REASON_NO_LEADER });
}

/**
 * etcd 3.5's rule: an active alarm (NOSPACE, CORRUPT) makes a member unhealthy with reason
 * "ALARM <name>" before anything else is checked; otherwise `next` decides (a leader).
 */
export function healthWithAlarms(activeAlarms: () => readonly string[], next: HealthCheck): HealthCheck {
  return (query) => {
    const alarm = activeAlarms().find((a) => query?.excludedAlarms.has(a) !== true);
    return alarm === undefined ? next(query) : { healthy: false, reason: `ALARM ${alarm}` };
  };
}

/**
 * A member repairing its storage (DESIGN §5: a state being rebuilt, a raft log missing
 * entries it had acknowledged) serves nothing: unhealthy, with the reason, before anything else.
 */
export function healthWithStorage(storageProblem: () => string | undefined, next: HealthCheck): HealthCheck {
  return (query) => {
    const problem = storageProblem();
    return problem === undefined ? next(query) : { healthy: false, reason: problem };
  };
}

/** Runs a health check with HEALTH_CHECK_TIMEOUT_MS; a throw or a timeout is unhealthy. */
export async function runHealth(check: HealthCheck, query?: HealthQuery): Promise<HealthResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ healthy: false, reason: `health check timed out after ${HEALTH_CHECK_TIMEOUT_MS} ms` }),
      HEALTH_CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(() => check(query)), timeout]);
  } catch (err) {
    return { healthy: false, reason: `health check failed: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** GET /metrics: the registry in Prometheus text format (also served on the client port,
 *  whose scrapes read an event-loop delay window of their own: event-loop-delay.ts). */
export async function serveMetrics(registry: Registry, res: ServerResponse, window: ScrapeWindow = METRICS_PORT_WINDOW): Promise<void> {
  send(res, 200, registry.contentType, await inScrapeWindow(window, () => registry.metrics()));
}

/** GET /health: etcd's {"health":"true"|"false","reason":"..."}, 200 or 503 (also on the client port). */
export async function serveHealth(health: HealthCheck, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const h = await runHealth(health, parseHealthQuery(req.url));
  const body = JSON.stringify({ health: String(h.healthy), reason: h.healthy ? '' : (h.reason ?? '') });
  send(res, h.healthy ? 200 : 503, 'application/json', body + '\n');
}

async function route(opts: MetricsServerOptions, health: HealthCheck, req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain', 'only GET is served here\n');
    return;
  }
  switch (path) {
    case '/metrics':
      await serveMetrics(opts.registry, res);
      return;
    case '/health':
      await serveHealth(health, req, res);
      return;
    case '/status.json':
      send(res, 200, 'application/json', JSON.stringify({ ...opts.snapshot(), ...opts.status?.() }) + '\n');
      return;
    case '/dashboard.json':
      if (opts.dashboard === undefined) send(res, 404, 'text/plain', 'no dashboard data here: only region members serve it\n');
      else send(res, 200, 'application/json', JSON.stringify(await opts.dashboard()) + '\n');
      return;
    case '/':
      send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
      return;
    default:
      send(res, 404, 'text/plain', 'not found: try /metrics, /health, /status.json, /dashboard.json or /\n');
  }
}

/** Starts the server; resolves once it listens, with the port the OS chose if `port` was 0. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  const health = opts.health ?? defaultHealth(opts.snapshot);
  const server: Server = createServer((req, res) => {
    route(opts, health, req, res).catch((err: unknown) => {
      // A failing scrape must not take the node down; answer 500 and carry on.
      if (!res.headersSent) send(res, 500, 'text/plain', `error: ${(err as Error).message}\n`);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive scrapers would otherwise hold close() open until they time out.
        server.closeAllConnections();
      }),
  };
}
