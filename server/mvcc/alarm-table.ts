// Alarms, as etcd keeps them: a set of (member id, alarm type) recorded through Raft, so
// every member lists the same ones, and stored in the state engine (one record under a
// meta key), so they survive a restart and travel inside snapshots. While a NOSPACE alarm
// is active the store refuses what would grow it, and while a CORRUPT alarm is active it
// refuses every write (gate()), as etcd's capped and corrupt appliers do.

import { stateMetaKey } from '../storage/keys.js';
import { BinReader, BinWriter } from './bin.js';
import { MvccError } from './errors.js';
import { AlarmAction, AlarmType, type AlarmMember, type AlarmRequest, type Command, type RequestOp, type TxnRequest } from './types.js';

/** Where the alarm set lives in the state engine (the Meta keyspace). */
export const META_ALARMS_KEY = stateMetaKey('mvcc-alarms');

export class AlarmTable {
  private readonly byKey = new Map<string, AlarmMember>();

  /** Active alarms of one type (NONE: all), ordered by type then member id on every member. */
  list(alarm: AlarmType = AlarmType.NONE): AlarmMember[] {
    const all = [...this.byKey.values()].filter((a) => alarm === AlarmType.NONE || a.alarm === alarm);
    return all.sort((x, y) => x.alarm - y.alarm || x.memberId - y.memberId);
  }

  has(alarm: AlarmType): boolean {
    for (const a of this.byKey.values()) if (a.alarm === alarm) return true;
    return false;
  }

  /**
   * etcd's applier: GET lists (NONE: every alarm); ACTIVATE answers the alarm (the one
   * already there if it was), NONE activates nothing; DEACTIVATE answers the removed
   * alarm, or nothing when it was not active. `changed`: the set must be written.
   */
  apply(req: AlarmRequest): { alarms: AlarmMember[]; changed: boolean } {
    const key = `${req.alarm}:${req.memberId}`;
    switch (req.action) {
      case AlarmAction.GET:
        return { alarms: this.list(req.alarm), changed: false };
      case AlarmAction.ACTIVATE: {
        if (req.alarm === AlarmType.NONE) return { alarms: [], changed: false };
        const known = this.byKey.get(key);
        if (known !== undefined) return { alarms: [known], changed: false };
        const added = { memberId: req.memberId, alarm: req.alarm };
        this.byKey.set(key, added);
        return { alarms: [added], changed: true };
      }
      case AlarmAction.DEACTIVATE: {
        const known = this.byKey.get(key);
        if (known === undefined) return { alarms: [], changed: false };
        this.byKey.delete(key);
        return { alarms: [known], changed: true };
      }
    }
  }

  /** Throws etcd's error if an active alarm refuses the command (checked before it applies). */
  gate(cmd: Command): void {
    if (this.byKey.size === 0) return;
    if (this.has(AlarmType.CORRUPT) && refusedWhenCorrupt(cmd)) throw new MvccError('corrupt');
    if (this.has(AlarmType.NOSPACE) && refusedWithoutSpace(cmd)) throw new MvccError('no-space');
  }

  encode(): Uint8Array {
    const list = this.list();
    const w = new BinWriter().uint(list.length);
    for (const a of list) w.uint(a.memberId).byte(a.alarm);
    return w.finish();
  }

  load(bytes: Uint8Array): void {
    this.byKey.clear();
    const r = new BinReader(bytes);
    const n = r.uint();
    for (let i = 0; i < n; i++) {
      const memberId = r.uint();
      const alarm = r.byte() as AlarmType;
      this.byKey.set(`${alarm}:${memberId}`, { memberId, alarm });
    }
  }
}

/** etcd's applierV3Corrupt: every write, compaction, lease grant and revoke. */
function refusedWhenCorrupt(cmd: Command): boolean {
  switch (cmd.type) {
    case 'put': case 'deleteRange': case 'txn': case 'compact': case 'leaseGrant': case 'leaseRevoke': case 'external': return true;
    default: return false;
  }
}

/** etcd's applierV3Capped: Put, a Txn with a put anywhere in it (any branch, any depth), LeaseGrant. */
function refusedWithoutSpace(cmd: Command): boolean {
  switch (cmd.type) {
    // An external command (a CRDT write) may put keys: refused like a Put.
    case 'put': case 'leaseGrant': case 'external': return true;
    case 'txn': return txnPuts(cmd.txn);
    default: return false;
  }
}

function txnPuts(t: TxnRequest): boolean {
  const puts = (op: RequestOp): boolean => op.type === 'put' || (op.type === 'txn' && txnPuts(op.txn));
  return t.success.some(puts) || t.failure.some(puts);
}
