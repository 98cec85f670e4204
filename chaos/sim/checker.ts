// Safety invariants the simulator checks after every step, over what each node has made
// durable (its Storage: the MemoryStorage that survives a crash), what it sends and what it
// applies. Each check names the Raft rule it stands for; a broken one throws Violation.
//
// Registries (all incremental, so a check costs what the step changed):
//  - log:       (index, term) -> the entry's data and the term before it. Log Matching
//               (Raft §5.3) holds iff every (index, term) names one entry and one
//               predecessor term in every log that holds it.
//  - committed: index -> the entry every node has (durably) committed there, and the lowest
//               term in which a node was seen to know it committed (an upper bound of the
//               term it was committed in, so Leader Completeness checks stay sound).
//  - applied:   index -> the entry applied there; every node applies the same sequence.
//  - votes:     (voter, term) -> candidate granted; a node grants one vote per term.

import type { ConfState, Entry, Message, NodeId, Snapshot, Storage } from '../../server/raft/types.js';
import { MessageType, StateRole } from '../../server/raft/types.js';

export class Violation extends Error {
  override name = 'Violation';
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

/** What the checker sees of a node: the same things a real operator could inspect. */
export interface NodeView {
  id: NodeId;
  up: boolean;
  storage: Storage;
  /** Present when up. */
  status?: { term: number; commit: number; role: string; confState: ConfState } | undefined;
  /** Index the node's state machine has applied (the simulator tracks it). */
  appliedIndex: number;
}

interface LogRecord {
  key: string;
  prevTerm: number;
  node: NodeId;
}

interface CommittedRecord {
  term: number;
  key: string;
  /** Lowest current term of a node that knew the entry committed. */
  seenTerm: number;
  node: NodeId;
}

interface NodeMemory {
  term: number;
  commit: number;
  applied: number;
  /** Highest index of this node's durable log checked against the committed registry. */
  committedChecked: number;
  persistedTerm: number;
  persistedVote: NodeId;
  persistedCommit: number;
  snapshotIndex: number;
}

export function bytesKey(data: Uint8Array): string {
  let s = '';
  for (let i = 0; i < data.length; i++) s += String.fromCharCode(data[i]!);
  return s;
}

export function entryKey(e: Entry): string {
  return `${e.type}|${bytesKey(e.data)}`;
}

/** The term of entry i in a storage, or undefined when i is outside [firstIndex-1, lastIndex]. */
export function termAt(s: Storage, i: number): number | undefined {
  if (i < s.firstIndex() - 1 || i > s.lastIndex()) return undefined;
  return s.term(i);
}

function snapshotIndexOf(s: Storage): number {
  return s.firstIndex() - 1;
}

export class Checker {
  private readonly log = new Map<string, LogRecord>();
  private readonly committed = new Map<number, CommittedRecord>();
  private readonly applied = new Map<number, { key: string; term: number; node: NodeId }>();
  private readonly votes = new Map<string, NodeId>();
  private readonly leaders = new Map<number, NodeId>();
  private readonly memory = new Map<NodeId, NodeMemory>();
  /**
   * The log a node held before its storage was lost (onStorageLost). Its acknowledgements
   * were true when sent; a leader may still count them (its match index) until the node
   * reports the loss, so for the durable-quorum check they count as what they were.
   */
  private readonly lostLogs = new Map<NodeId, Storage>();
  /** (leader, term) pairs whose log was checked for Leader Completeness. */
  private readonly completenessChecked = new Set<string>();

  /** Number of individual invariant evaluations, for the report. */
  checks = 0;

  /**
   * @param ackChecks check at send time that every vote grant and append ack speaks for
   *   durable state (the direct form of the durability rule). Off, only the end-to-end
   *   invariants (election safety, committed entries agree, durable quorum) remain: the
   *   teeth test uses that to show they catch a broken durability rule on their own.
   */
  constructor(private readonly ackChecks = true) {}

  private mem(id: NodeId): NodeMemory {
    let m = this.memory.get(id);
    if (m === undefined) {
      m = {
        term: 0, commit: 0, applied: 0, committedChecked: 0,
        persistedTerm: 0, persistedVote: 0, persistedCommit: 0, snapshotIndex: 0,
      };
      this.memory.set(id, m);
    }
    return m;
  }

  // ---- Hooks the simulator calls as it handles a Ready ----

  /**
   * A message leaves `node` (step 1 of a Ready, before this Ready is persisted). An
   * acknowledgement must only ever speak for durable state (Raft §5.1: servers persist
   * before responding to RPCs): a vote grant for a vote in storage, an append ack for
   * entries in storage.
   */
  onSend(node: NodeId, storage: Storage, m: Message): void {
    this.checks++;
    if (m.type === MessageType.VoteResp && !m.reject) {
      const k = `${node}@${m.term}`;
      const before = this.votes.get(k);
      if (before !== undefined && before !== m.to) {
        throw new Violation('one vote per term', `node ${node} granted its term-${m.term} vote to ${before} and then to ${m.to}`);
      }
      this.votes.set(k, m.to);
      if (!this.ackChecks) return;
      const hs = storage.initialState().hardState;
      if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) {
        throw new Violation(
          'vote durable before granted',
          `node ${node} sends a term-${m.term} vote for ${m.to} while its durable hard state is term ${hs.term} vote ${hs.vote}`,
        );
      }
    }
    if (m.type === MessageType.AppResp && !m.reject && this.ackChecks) {
      const last = storage.lastIndex();
      if (m.index > last) {
        throw new Violation(
          'append ack durable before sent',
          `node ${node} acknowledges index ${m.index} (term ${m.term}) to ${m.to} but its durable log ends at ${last}`,
        );
      }
    }
  }

  /** Entries were appended to `node`'s storage (step 2). Checks Log Matching. */
  onEntriesPersisted(node: NodeId, storage: Storage, entries: readonly Entry[]): void {
    for (const e of entries) {
      this.checks++;
      const prevTerm = termAt(storage, e.index - 1);
      if (prevTerm === undefined) {
        throw new Violation('log is contiguous', `node ${node} persisted index ${e.index} with no entry before it`);
      }
      const rec: LogRecord = { key: entryKey(e), prevTerm, node };
      const k = `${e.index}@${e.term}`;
      const seen = this.log.get(k);
      if (seen === undefined) {
        this.log.set(k, rec);
      } else if (seen.key !== rec.key || seen.prevTerm !== rec.prevTerm) {
        throw new Violation(
          'log matching',
          `entry ${e.index} of term ${e.term} on node ${node} (prev term ${prevTerm}) differs from the one node ${seen.node} holds (prev term ${seen.prevTerm}${seen.key !== rec.key ? ', other data' : ''})`,
        );
      }
    }
  }

  /** A hard state was persisted: durable term and commit never go back; one vote per term. */
  onHardStatePersisted(node: NodeId, hs: { term: number; vote: NodeId; commit: number }): void {
    this.checks++;
    const m = this.mem(node);
    if (hs.term < m.persistedTerm) {
      throw new Violation('durable term never decreases', `node ${node} persisted term ${hs.term} after ${m.persistedTerm}`);
    }
    if (hs.term === m.persistedTerm && m.persistedVote !== 0 && hs.vote !== m.persistedVote) {
      throw new Violation('one vote per term', `node ${node} persisted vote ${hs.vote} in term ${hs.term} after voting ${m.persistedVote}`);
    }
    if (hs.commit < m.persistedCommit) {
      throw new Violation('durable commit never decreases', `node ${node} persisted commit ${hs.commit} after ${m.persistedCommit}`);
    }
    m.persistedTerm = hs.term;
    m.persistedVote = hs.vote;
    m.persistedCommit = hs.commit;
  }

  /** A snapshot was installed into `node`'s storage: it must agree with what is committed. */
  onSnapshotPersisted(node: NodeId, snap: Snapshot): void {
    this.checks++;
    const m = this.mem(node);
    const { index, term } = snap.metadata;
    if (index < m.snapshotIndex) {
      throw new Violation('snapshot never goes back', `node ${node} installed a snapshot at ${index} after one at ${m.snapshotIndex}`);
    }
    m.snapshotIndex = index;
    const c = this.committed.get(index);
    if (c !== undefined && c.term !== term) {
      throw new Violation('committed entries agree', `node ${node} installed a snapshot at ${index} of term ${term}, but the entry committed there is of term ${c.term}`);
    }
    m.committedChecked = Math.max(m.committedChecked, index);
  }

  /** `node` applies `e` (step 3): every node applies the same sequence. */
  onApply(node: NodeId, e: Entry): void {
    this.checks++;
    const key = entryKey(e);
    const seen = this.applied.get(e.index);
    if (seen === undefined) {
      this.applied.set(e.index, { key, term: e.term, node });
    } else if (seen.key !== key || seen.term !== e.term) {
      throw new Violation(
        'state machine safety',
        `node ${node} applied a term-${e.term} entry at ${e.index}, node ${seen.node} applied a different (term-${seen.term}) one`,
      );
    }
    const c = this.committed.get(e.index);
    if (c !== undefined && c.term !== e.term) {
      throw new Violation('committed entries agree', `node ${node} applied term ${e.term} at ${e.index}, committed there is term ${c.term}`);
    }
  }

  /**
   * `node`'s raft storage and state were lost and reseeded with `hs` (a storage fault, not a
   * rule the core broke): what it had made durable is gone, so the checks of "never goes
   * back" start again from the reseeded hard state. Its votes on the wire stay on record.
   */
  onStorageLost(node: NodeId, hs: { term: number; vote: NodeId }, lost: Storage, rolledBack = false): void {
    this.checks++;
    this.lostLogs.set(node, lost);
    const m = this.mem(node);
    // A rolled-back disk returns an older term too (never across a vote: the simulator's rule).
    if (!rolledBack && hs.term < m.persistedTerm) {
      throw new Violation('term never decreases', `node ${node} reseeded at term ${hs.term}, it had persisted ${m.persistedTerm}`);
    }
    Object.assign(m, {
      commit: 0, applied: 0, committedChecked: 0, persistedTerm: hs.term, persistedVote: hs.vote, persistedCommit: 0, snapshotIndex: 0,
    });
  }

  /** A node restarted over its durable storage. */
  onRestart(node: NodeId, status: { term: number; commit: number }, appliedIndex: number, stateLost = false): void {
    this.checks++;
    const m = this.mem(node);
    if (status.term < m.persistedTerm) {
      throw new Violation('term never decreases', `node ${node} restarted at term ${status.term}, it had persisted ${m.persistedTerm}`);
    }
    if (status.commit < m.persistedCommit) {
      throw new Violation('commit never decreases', `node ${node} restarted with commit ${status.commit}, it had persisted ${m.persistedCommit}`);
    }
    if (!stateLost && appliedIndex < m.snapshotIndex) {
      throw new Violation('applied never decreases', `node ${node} restarted at applied ${appliedIndex} below its snapshot ${m.snapshotIndex}`);
    }
    // A new life: in-memory commit and applied restart from the durable ones.
    m.term = status.term;
    m.commit = status.commit;
    m.applied = appliedIndex;
  }

  /** A leader just made its whole log durable (a Ready handled): Leader Completeness (§5.4). */
  checkLeaderCompleteness(node: NodeId, term: number, storage: Storage): void {
    const k = `${node}@${term}`;
    if (this.completenessChecked.has(k)) return;
    this.completenessChecked.add(k);
    const snap = snapshotIndexOf(storage);
    const last = storage.lastIndex();
    for (const [index, c] of this.committed) {
      this.checks++;
      if (c.seenTerm >= term) continue;
      if (index > last) {
        throw new Violation('leader completeness', `leader ${node} of term ${term} lacks entry ${index} (its log ends at ${last}), committed by term ${c.seenTerm}`);
      }
      if (index < snap) continue;
      const t = storage.term(index);
      if (t !== c.term) {
        throw new Violation('leader completeness', `leader ${node} of term ${term} holds term ${t} at ${index}, where a term-${c.term} entry was committed`);
      }
    }
  }

  // ---- After every step ----

  afterStep(views: readonly NodeView[]): void {
    const byId = new Map(views.map((v) => [v.id, v]));
    for (const v of views) {
      if (!v.up || v.status === undefined) continue;
      const st = v.status;
      const m = this.mem(v.id);
      this.checks += 4;
      if (st.term < m.term) throw new Violation('term never decreases', `node ${v.id} went from term ${m.term} to ${st.term}`);
      if (st.commit < m.commit) throw new Violation('commit never decreases', `node ${v.id} went from commit ${m.commit} to ${st.commit}`);
      if (v.appliedIndex < m.applied) {
        throw new Violation('applied never decreases', `node ${v.id} went from applied ${m.applied} to ${v.appliedIndex}`);
      }
      if (v.appliedIndex > st.commit) {
        throw new Violation('apply only committed entries', `node ${v.id} applied ${v.appliedIndex} beyond its commit ${st.commit}`);
      }
      if (st.role === StateRole.Leader) {
        const other = this.leaders.get(st.term);
        if (other !== undefined && other !== v.id) {
          throw new Violation('election safety', `nodes ${other} and ${v.id} are both leaders of term ${st.term}`);
        }
        this.leaders.set(st.term, v.id);
        if (st.commit > m.commit) this.checkDurableQuorum(v, st.commit, byId);
      }
      m.term = st.term;
      m.commit = st.commit;
      m.applied = v.appliedIndex;
    }
    for (const v of views) this.scanDurableCommit(v);
  }

  /** Entries up to a node's durable commit join (or must agree with) the committed registry. */
  private scanDurableCommit(v: NodeView): void {
    const m = this.mem(v.id);
    const s = v.storage;
    const hs = s.initialState().hardState;
    const hi = Math.min(hs.commit, s.lastIndex());
    const lo = Math.max(m.committedChecked + 1, s.firstIndex());
    if (hi < lo) return;
    const entries = s.entries(lo, hi + 1, Number.MAX_SAFE_INTEGER);
    const seenTerm = v.status?.term ?? hs.term;
    for (const e of entries) {
      this.checks++;
      const key = entryKey(e);
      const c = this.committed.get(e.index);
      if (c === undefined) {
        this.committed.set(e.index, { term: e.term, key, seenTerm, node: v.id });
      } else if (c.term !== e.term || c.key !== key) {
        throw new Violation(
          'committed entries agree',
          `node ${v.id} has durably committed a term-${e.term} entry at ${e.index}; node ${c.node} committed a different (term-${c.term}) one`,
        );
      } else if (seenTerm < c.seenTerm) {
        c.seenTerm = seenTerm;
      }
    }
    m.committedChecked = hi;
  }

  /**
   * A leader's commit index moved to `commit`: the entry there must be durable on a
   * majority of the leader's voters (DESIGN §3: the leader counts itself only once durable).
   */
  private checkDurableQuorum(leader: NodeView, commit: number, byId: Map<NodeId, NodeView>): void {
    this.checks++;
    const voters = leader.status!.confState.voters;
    const need = Math.floor(voters.length / 2) + 1;
    const leaderTerm = entryTermIfDurable(leader.storage, commit);
    const counts = new Map<number, number>();
    let covered = 0;
    for (const id of voters) {
      const v = byId.get(id);
      if (v === undefined) continue;
      if (snapshotIndexOf(v.storage) >= commit && commit < v.storage.firstIndex()) {
        covered++;
        continue;
      }
      const lost = this.lostLogs.get(id);
      const t = termAt(v.storage, commit) ?? (lost === undefined ? undefined : termAt(lost, commit));
      if (t !== undefined) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    let best = 0;
    if (leaderTerm !== undefined) best = counts.get(leaderTerm) ?? 0;
    else for (const c of counts.values()) best = Math.max(best, c);
    if (best + covered < need) {
      throw new Violation(
        'commit only what a durable quorum holds',
        `leader ${leader.id} moved its commit to ${commit}, but only ${best + covered} of voters [${voters.join(',')}] hold that entry durably (need ${need})`,
      );
    }
  }
}

/** The term of entry i when the storage holds it as an entry (not inside a snapshot). */
function entryTermIfDurable(s: Storage, i: number): number | undefined {
  if (i < s.firstIndex() || i > s.lastIndex()) return undefined;
  return s.term(i);
}
