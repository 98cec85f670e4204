// A member's view of its peers for the dashboard: each peer's own answer to etcd's
// Maintenance.Status (term, raft index, applied index, leader) and /health, asked over
// the peer's advertised client URL, which serves both over HTTP/1.1 (the JSON gateway and
// etcd's /health). Chosen over the leader's replication progress because it works from
// any member (a follower has no progress), gives each peer's own term, applied index and
// health rather than the leader's guess, and costs two small requests per peer per
// refresh, shared by every open page (PEER_STATUS_CACHE_MS).

/** A peer that has not answered in this time counts as unreachable. */
export const PEER_STATUS_TIMEOUT_MS = 1_000;
/** Answers are reused this long, so several open pages ask each peer once. */
export const PEER_STATUS_CACHE_MS = 1_000;

export interface PeerStatus {
  reachable: boolean;
  healthy: boolean;
  /** Why not healthy ('' when healthy). */
  reason: string;
  term?: number;
  raftIndex?: number;
  appliedIndex?: number;
  /** Hex id of the leader the peer follows ('0': none). */
  leader?: string;
  isLearner?: boolean;
}

/** A uint64 as the gateway writes it (a decimal string; absent when 0). */
function u64(v: unknown): number {
  return typeof v === 'string' || typeof v === 'number' ? Number(v) : 0;
}

function hexId(v: unknown): string {
  try {
    return typeof v === 'string' || typeof v === 'number' ? BigInt(v).toString(16) : '0';
  } catch {
    return '0';
  }
}

/** Asks one peer; never throws (an unreachable peer is a status too). */
export async function fetchPeerStatus(clientUrl: string, timeoutMs = PEER_STATUS_TIMEOUT_MS): Promise<PeerStatus> {
  const base = clientUrl.replace(/\/+$/, '');
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const [statusRes, healthRes] = await Promise.all([
      fetch(`${base}/v3/maintenance/status`, { method: 'POST', body: '{}', signal }),
      fetch(`${base}/health`, { signal }),
    ]);
    const status = (await statusRes.json()) as Record<string, unknown>;
    const health = (await healthRes.json()) as { health?: string; reason?: string };
    if (!statusRes.ok) {
      return { reachable: true, healthy: false, reason: `status answered ${statusRes.status}: ${String(status.message ?? '')}` };
    }
    const header = (status.header ?? {}) as Record<string, unknown>;
    return {
      reachable: true,
      healthy: health.health === 'true',
      reason: health.health === 'true' ? '' : (health.reason ?? 'unhealthy'),
      term: u64(status.raftTerm ?? header.raft_term),
      raftIndex: u64(status.raftIndex),
      appliedIndex: u64(status.raftAppliedIndex),
      leader: hexId(status.leader ?? '0'),
      isLearner: status.isLearner === true,
    };
  } catch (err) {
    // fetch says only "fetch failed"; the cause names it (ECONNREFUSED, ENOTFOUND, ...).
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    const why = signal.aborted ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
    return { reachable: false, healthy: false, reason: `unreachable at ${base}: ${why}` };
  }
}

/** fetchPeerStatus with each URL's answer shared for PEER_STATUS_CACHE_MS. */
export class PeerStatusCache {
  private readonly entries = new Map<string, { atMs: number; answer: Promise<PeerStatus> }>();

  constructor(private readonly ask: (clientUrl: string) => Promise<PeerStatus> = fetchPeerStatus, private readonly cacheMs = PEER_STATUS_CACHE_MS) {}

  get(clientUrl: string, nowMs = Date.now()): Promise<PeerStatus> {
    const hit = this.entries.get(clientUrl);
    if (hit !== undefined && nowMs - hit.atMs < this.cacheMs) return hit.answer;
    const answer = this.ask(clientUrl);
    this.entries.set(clientUrl, { atMs: nowMs, answer });
    return answer;
  }

  /** Drops URLs no longer asked for (removed members). */
  keepOnly(clientUrls: ReadonlySet<string>): void {
    for (const url of this.entries.keys()) if (!clientUrls.has(url)) this.entries.delete(url);
  }
}
