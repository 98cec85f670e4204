// Asks a node how it is over its metrics HTTP port (/health and /status.json), so the
// launcher and `cluster status` need neither an etcd client nor the server's code.

/** A probe that gets no answer in this time counts the node as down. */
export const PROBE_TIMEOUT_MS = 1_000;

export interface NodeHealth {
  /** Answered at all. */
  up: boolean;
  healthy: boolean;
  /** etcd's reason text, or why the probe failed. */
  reason: string;
}

/** The /status.json fields the launcher reads (the node may send more). */
export interface NodeStatus {
  isLeader?: boolean;
  hasLeader?: boolean;
  term?: number;
  commitIndex?: number;
  appliedIndex?: number;
  keys?: number;
}

/**
 * "Up and sees a leader": alarms are left out (etcd's `?exclude=`), so a member under a
 * NOSPACE or CORRUPT alarm still counts as started (it serves reads; the alarm is the operator's).
 */
const HEALTH_PATH = '/health?exclude=NOSPACE&exclude=CORRUPT';

export async function probeHealth(metricsUrl: string): Promise<NodeHealth> {
  try {
    const res = await fetch(`${metricsUrl}${HEALTH_PATH}`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const body = (await res.json()) as { health?: unknown; reason?: unknown };
    const healthy = res.ok && body.health === 'true';
    return { up: true, healthy, reason: typeof body.reason === 'string' ? body.reason : '' };
  } catch (err) {
    return { up: false, healthy: false, reason: (err as Error).message };
  }
}

export async function probeStatus(metricsUrl: string): Promise<NodeStatus | undefined> {
  try {
    const res = await fetch(`${metricsUrl}/status.json`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return res.ok ? ((await res.json()) as NodeStatus) : undefined;
  } catch {
    return undefined;
  }
}
