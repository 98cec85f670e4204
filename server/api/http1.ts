// HTTP/1.1 on the client port: a small router behind front-door.ts. etcd serves /metrics,
// /health and /version here (etcdctl check datascale and scrapers read them), and later its
// JSON gateway under /v3/; a handler added with route() or prefix() needs no change to the
// socket code. Unknown paths answer 404, a known path with another method 405.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { serveHealth, serveMetrics, type HealthCheck } from '../metrics/http-server.js';
import { CLIENT_PORT_WINDOW } from '../metrics/event-loop-delay.js';
import { ETCD_SERVER_VERSION } from '../util/version.js';

export type Http1Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * What /version reports. regionstore follows etcd 3.5's v3 API (where 3.4 and 3.5 differ,
 * 3.5 is followed), and etcdctl only compares the cluster version's major.minor.
 */
export const ETCD_VERSION_REPORTED = { etcdserver: ETCD_SERVER_VERSION, etcdcluster: ETCD_SERVER_VERSION } as const;

export class Http1Router {
  private readonly exact = new Map<string, Map<string, Http1Handler>>();
  private readonly prefixes: Array<{ prefix: string; handler: Http1Handler }> = [];

  /** `method` is GET, POST, ...; a GET route also answers HEAD. */
  route(method: string, path: string, handler: Http1Handler): this {
    const byMethod = this.exact.get(path) ?? new Map<string, Http1Handler>();
    byMethod.set(method.toUpperCase(), handler);
    this.exact.set(path, byMethod);
    return this;
  }

  /** Every path under `prefix` (e.g. '/v3/'), any method: the handler answers 404/405 itself. */
  prefix(prefix: string, handler: Http1Handler): this {
    this.prefixes.push({ prefix, handler });
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const byMethod = this.exact.get(path);
    if (byMethod !== undefined) {
      const method = req.method === 'HEAD' && !byMethod.has('HEAD') ? 'GET' : (req.method ?? 'GET');
      const handler = byMethod.get(method);
      if (handler === undefined) {
        const allow = [...byMethod.keys()].join(', ');
        sendText(res, 405, `${req.method ?? ''} is not served on ${path}; use ${allow}\n`, { allow });
        return;
      }
      await handler(req, res);
      return;
    }
    const p = this.prefixes.find((e) => path.startsWith(e.prefix));
    if (p !== undefined) {
      await p.handler(req, res);
      return;
    }
    const known = [...this.exact.keys(), ...this.prefixes.map((e) => `${e.prefix}...`)].join(', ');
    sendText(res, 404, `not found: ${path} (served here: ${known || 'nothing'})\n`);
  }
}

function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

/** A node:http server that never listens: front-door.ts hands it connections. */
export function createHttp1Server(router: Http1Router): Server {
  return createServer((req, res) => {
    router.handle(req, res).catch((err: unknown) => {
      // A failing handler must not take the member down; answer 500 and carry on.
      if (!res.headersSent) sendText(res, 500, `error: ${(err as Error).message}\n`);
      else res.end();
    });
  });
}

export interface EtcdHttpRoutesOptions {
  /** The member's registry: the same content as the metrics port's /metrics. */
  registry: Registry;
  /** Healthy when the member sees a leader (metrics/http-server.ts defaultHealth). */
  health: HealthCheck;
}

/** etcd's HTTP/1.1 endpoints of the client port: /metrics, /health, /version. */
export function addEtcdHttpRoutes(router: Http1Router, opts: EtcdHttpRoutesOptions): Http1Router {
  return router
    .route('GET', '/metrics', (_req, res) => serveMetrics(opts.registry, res, CLIENT_PORT_WINDOW))
    .route('GET', '/health', (req, res) => serveHealth(opts.health, req, res))
    .route('GET', '/version', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ETCD_VERSION_REPORTED));
    });
}
