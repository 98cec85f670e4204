// What the client port's limits refused or closed (issue 16): one counter labelled by the
// limit's name (a bounded set: server/api's LimitName), so an operator sees which limit
// clients run into and can raise its flag or find the client.

import { Counter, type Registry } from 'prom-client';

export interface LimitMetrics {
  refused(limit: string): void;
}

export function registerLimitMetrics(registry: Registry): LimitMetrics {
  const counter = new Counter({
    name: 'regionstore_limit_refusals_total',
    help: 'Connections and streams refused or closed by a client-port limit, by limit (handshake, connections-per-address, keepalive-min-time, watch-slow-receiver).',
    labelNames: ['limit'],
    registers: [registry],
  });
  return { refused: (limit) => counter.inc({ limit }) };
}
