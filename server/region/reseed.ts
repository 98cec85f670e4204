// `regionstore member reseed`: brings back a member whose raft/ cannot be read (DESIGN.md §5,
// storage faults) from its peers, keeping its member id.
//
// The member's votes and acknowledged entries are gone with raft/. The entries come back
// from the leader (the member answers heartbeats with its real, empty log: storage-loss.ts)
// and the state with them (a snapshot). The votes cannot come back, and a member that
// votes twice in one term can elect two leaders in it. So the new raft/ starts with the
// hard state {term: the highest term a peer reports now, vote: itself}: it never votes in
// that term or an earlier one (its vote there counts as cast), and it was stopped before
// that term was read, so every vote it ever cast is in such a term. Its commit index is
// the peers' applied index: past its empty log, which raft takes as lost entries, so it
// neither serves nor votes nor campaigns until it holds them again.
//
// Nothing is deleted: raft/, the state directories and CURRENT_STATE are moved into
// <data-dir>/reseed-aside-<time>/ for the operator.

import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { CURRENT_STATE_FILE, RAFT_DIR_NAME, RaftLogStore, RocksEngine, raftDir } from '../storage/index.js';
import { syncDir } from '../storage/data-dir.js';
import { readMarker } from '../storage/marker.js';

/** How long one peer gets to answer the Status call. */
export const RESEED_STATUS_TIMEOUT_MS = 5_000;
const STATE_DIR_RE = /^state(?:\.\d+)?$/;
/** Where `regionstore serve` keeps a member's identity (server/main.ts). */
const IDENTITY_FILE = 'member.json';

export class ReseedError extends Error {
  override readonly name = 'ReseedError';
}

export interface PeerStatus {
  endpoint: string;
  memberId: string;
  raftTerm: number;
  /** Entries it has applied: all committed. */
  raftAppliedIndex: number;
}

/** Asks `endpoint` (a client URL) for its member id and raft term, through the JSON gateway. */
export async function fetchPeerStatus(endpoint: string, timeoutMs = RESEED_STATUS_TIMEOUT_MS): Promise<PeerStatus> {
  const base = endpoint.includes('://') ? endpoint : `http://${endpoint}`;
  const res = await fetch(`${base.replace(/\/$/, '')}/v3/maintenance/status`, {
    method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new ReseedError(`${endpoint}: Status answered HTTP ${res.status}`);
  const body = await res.json() as {
    header?: { member_id?: string | number; raft_term?: string | number };
    raftTerm?: string | number; raft_term?: string | number;
    raftAppliedIndex?: string | number; raft_applied_index?: string | number;
  };
  const term = Number(body.raftTerm ?? body.raft_term ?? body.header?.raft_term);
  if (!Number.isSafeInteger(term) || term <= 0) throw new ReseedError(`${endpoint}: Status has no raft term`);
  const applied = Number(body.raftAppliedIndex ?? body.raft_applied_index ?? 0);
  return { endpoint, memberId: BigInt(body.header?.member_id ?? 0).toString(16), raftTerm: term, raftAppliedIndex: Number.isSafeInteger(applied) ? applied : 0 };
}

export interface ReseedResult {
  memberId: string;
  term: number;
  /** The commit index it must reach before it serves. */
  committed: number;
  movedTo: string;
  moved: string[];
  peers: PeerStatus[];
}

/**
 * Reseeds the (stopped) member in `dataDir`: asks the peers at `endpoints` for the term,
 * moves its databases aside and writes a raft/ holding only the hard state above.
 */
export async function reseedMember(dataDir: string, endpoints: string[]): Promise<ReseedResult> {
  const marker = (await readMarker(dataDir)) ?? (await identityOf(dataDir));
  if (marker === undefined) throw new ReseedError(`${dataDir} has neither a data directory marker nor member.json: not a regionstore member's data dir`);
  const peers: PeerStatus[] = [];
  const failures: string[] = [];
  for (const e of endpoints) {
    try {
      peers.push(await fetchPeerStatus(e));
    } catch (err) {
      failures.push(`${e}: ${(err as Error).message}`);
    }
  }
  if (peers.some((p) => p.memberId === marker.memberId)) {
    throw new ReseedError(`member ${marker.memberId} answers at ${peers.find((p) => p.memberId === marker.memberId)!.endpoint}: stop it before reseeding it`);
  }
  if (peers.length === 0) throw new ReseedError(`no peer answered (${failures.join('; ')}): the term to start from is unknown`);
  const term = Math.max(...peers.map((p) => p.raftTerm));
  const committed = Math.max(...peers.map((p) => p.raftAppliedIndex));

  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const aside = join(dataDir, `reseed-aside-${stamp}`);
  await mkdir(aside);
  const moved: string[] = [];
  for (const name of await readdir(dataDir)) {
    if (name === RAFT_DIR_NAME || name === CURRENT_STATE_FILE || STATE_DIR_RE.test(name)) {
      await rename(join(dataDir, name), join(aside, name));
      moved.push(name);
    }
  }
  await syncDir(dataDir);

  const engine = await RocksEngine.open(raftDir(dataDir));
  try {
    const log = await RaftLogStore.open(engine);
    // commit past the (empty) log: raft takes it as entries lost (storage-loss.ts), so the
    // member neither serves nor votes nor campaigns before it holds them again.
    await log.save({ hardState: { term, vote: Number.parseInt(marker.memberId, 16), commit: committed }, entries: [] }, true);
    await log.flush();
  } finally {
    await engine.close();
  }
  return { memberId: marker.memberId, term, committed, movedTo: aside, moved, peers };
}

/**
 * A directory written before the marker existed, whose raft/ was refused before the marker
 * could be written: the member id from the identity file `regionstore serve` keeps there.
 */
async function identityOf(dataDir: string): Promise<{ memberId: string } | undefined> {
  try {
    const id = JSON.parse(await readFile(join(dataDir, IDENTITY_FILE), 'utf8')) as { memberId?: unknown };
    return typeof id.memberId === 'number' ? { memberId: id.memberId.toString(16) } : undefined;
  } catch {
    return undefined;
  }
}
