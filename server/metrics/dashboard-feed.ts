// Serves the dashboard's data: asks the node for its figures (the gather function the
// composition root wires to server/region's dashboard source), adds the recent sync
// failures from the registry and the alert conditions, and shares one answer between
// requests for DASHBOARD_DATA_CACHE_MS so that many open pages cost what one does.

import type { Registry } from 'prom-client';
import { CounterWindow, SYNC_FAILURE_WINDOW_MS, evaluateAlerts, type DashboardData } from './dashboard-data.js';
import { METRIC_PREFIX } from './node-metrics.js';

/** One gathered answer serves every request within this time. */
export const DASHBOARD_DATA_CACHE_MS = 500;
/** The sync-failure total is sampled this often between requests (the alert's window needs history). */
export const SYNC_FAILURE_SAMPLE_MS = 10_000;

export type DashboardGather = () => Promise<Omit<DashboardData, 'alerts' | 'syncFailuresRecent'>>;

export interface DashboardFeed {
  data(): Promise<DashboardData>;
  close(): void;
}

/** The sum of every series of a counter in the registry (0 when it is not registered). */
async function counterTotal(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const got = await metric.get();
  return got.values.reduce((sum, v) => sum + v.value, 0);
}

export function createDashboardFeed(registry: Registry, gather: DashboardGather): DashboardFeed {
  const failures = new CounterWindow(SYNC_FAILURE_WINDOW_MS);
  const sampleFailures = async (): Promise<void> => {
    failures.sample(await counterTotal(registry, `${METRIC_PREFIX}sync_failures_total`), Date.now());
  };
  void sampleFailures();
  const timer = setInterval(() => void sampleFailures().catch(() => undefined), SYNC_FAILURE_SAMPLE_MS);
  timer.unref();
  let cached: { atMs: number; answer: Promise<DashboardData> } | undefined;
  const build = async (): Promise<DashboardData> => {
    await sampleFailures();
    const base = { ...(await gather()), syncFailuresRecent: failures.increase() };
    return { ...base, alerts: evaluateAlerts(base) };
  };
  return {
    data() {
      const now = Date.now();
      if (cached === undefined || now - cached.atMs >= DASHBOARD_DATA_CACHE_MS) {
        const answer = build();
        cached = { atMs: now, answer };
        // A failed gather is not kept: the next request tries again.
        answer.catch(() => {
          if (cached?.answer === answer) cached = undefined;
        });
      }
      return cached.answer;
    },
    close() {
      clearInterval(timer);
    },
  };
}
