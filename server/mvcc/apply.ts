// One command applied to the state: at-most-once bookkeeping around the dispatch to
// the txn executor, compaction and the lease table. Deterministic errors become error
// responses (and are remembered for retries like any answer); anything else is a bug or
// an engine failure and propagates.

import { assert, unreachable } from '../util/assert.js';
import { MvccError, isMvccError } from './errors.js';
import { LEASE_TTL_MAX_SECONDS, LEASE_TTL_MIN_SECONDS } from './lease-table.js';
import { HISTORY_START, pendingCompactionOp } from './compactor.js';
import { dedupeKey, encodeDedupe, encodeLease, leaseKey } from './records.js';
import { decodeResponse, encodeResponse } from './response-codec.js';
import type { MvccState } from './state.js';
import { type BatchOut, TxnExec } from './txn-exec.js';
import { META_ALARMS_KEY } from './alarm-table.js';
import type { AlarmRequest, Command, CommandResponse, ExternalResponse, KeyValue, LeaseCheckpointRequest, LeaseGrantRequest } from './types.js';
import { validateTxn } from './validate-txn.js';
import type { ExternalAnswer, ExternalTx } from './external.js';
import type { BatchOp } from '../storage/engine.js';
import { keyString } from './kv-layout.js';
import { applierGet } from './kv-view.js';
import { guardRefusal } from './write-guard.js';

export async function applyCommand(st: MvccState, index: number, cmd: Command, out: BatchOut, internal = false): Promise<CommandResponse> {
  // UNSAFE (testing only, the chaos teeth): an external command re-sent with the same
  // identity applies again, as if the table did not exist.
  const client = cmd.type === 'external' && st.external?.skipDedupe === true ? undefined : cmd.client;
  if (client !== undefined) {
    const prev = st.dedupe.get(client.clientId);
    if (prev !== undefined && client.seq === prev.seq) return decodeResponse(prev.response);
    if (prev !== undefined && client.seq < prev.seq) return new MvccError('stale-request').toResponse();
  }
  const response = await execute(st, index, cmd, out, internal);
  if (client !== undefined) {
    const rec = { seq: client.seq, index, response: encodeResponse(response) };
    out.ops.push({ type: 'put', key: dedupeKey(client.clientId), value: encodeDedupe(rec) });
    for (const evicted of st.dedupe.set(client.clientId, rec)) out.ops.push({ type: 'del', key: dedupeKey(evicted) });
  }
  return response;
}

async function execute(st: MvccState, index: number, cmd: Command, out: BatchOut, internal: boolean): Promise<CommandResponse> {
  const exec = new TxnExec(st, out, st.revision);
  try {
    st.alarms.gate(cmd);
    if (st.writeGuard !== undefined && !internal) {
      const refusal = guardRefusal(st.writeGuard, cmd);
      if (refusal !== undefined) throw new MvccError('failed-precondition', refusal);
    }
    switch (cmd.type) {
      case 'put': {
        await exec.checkPut(cmd.put);
        const put = await exec.put(cmd.put);
        exec.finish();
        return { type: 'put', put };
      }
      case 'deleteRange': {
        const deleteRange = await exec.deleteRange(cmd.deleteRange);
        exec.finish();
        return { type: 'deleteRange', deleteRange };
      }
      case 'txn': {
        validateTxn(cmd.txn);
        const txn = await exec.txn(cmd.txn);
        return { type: 'txn', txn: { ...txn, revision: exec.finish() } };
      }
      case 'compact': return compact(st, cmd.compact.revision, out);
      case 'leaseGrant': return grant(st, index, cmd.leaseGrant, out);
      case 'leaseRevoke': {
        await revoke(st, exec, cmd.leaseRevoke.id, out);
        return { type: 'leaseRevoke', leaseRevoke: { revision: exec.finish() } };
      }
      case 'leaseCheckpoint': return checkpoint(st, cmd.leaseCheckpoint, out);
      case 'alarm': return alarm(st, cmd.alarm, out);
      case 'external': {
        const done = external(st, exec, index, cmd.external.body, out);
        return done instanceof Promise ? await done : done;
      }
      default: return unreachable(cmd, 'command');
    }
  } catch (e) {
    if (!isMvccError(e)) throw e;
    // Checks run before changes; a failure after the first change would leave half a command.
    assert(!exec.changed, () => `${cmd.type} failed after it began writing: ${e.message}`);
    return e.toResponse();
  }
}

/** An external command (external.ts): the injected applier writes through `exec` at one revision. */
// Not async itself: an answer the applier knew at once is answered without a promise.
function external(st: MvccState, exec: TxnExec, index: number, body: Uint8Array, out: BatchOut): CommandResponse | Promise<CommandResponse> {
  const applier = st.external;
  if (applier === undefined) throw new Error(`entry ${index} is an external command but no external applier is wired`);
  const answer = applier.apply(index, body, new Tx(st, exec, out, index));
  if (answer instanceof Promise) return answer.then((a) => externalResponse(exec.finish(), a));
  return externalResponse(exec.finish(), answer);
}

function externalResponse(revision: number, answer: Uint8Array | ExternalAnswer): CommandResponse {
  return { type: 'external', external: answer instanceof Uint8Array ? { revision, body: answer } : new AnswerOnDemand(revision, answer) };
}

/** An external command's response whose body is encoded the first time it is read (external.ts ExternalAnswer). */
class AnswerOnDemand implements ExternalResponse {
  private bytes: Uint8Array | undefined;

  constructor(readonly revision: number, private readonly answer: ExternalAnswer) {}

  get body(): Uint8Array {
    return (this.bytes ??= this.answer.encode());
  }
}

/** What an external command may do (external.ts): a class, not closures built per command. */
class Tx implements ExternalTx {
  readonly writeRevision: number;

  constructor(private readonly st: MvccState, private readonly exec: TxnExec, private readonly out: BatchOut, readonly index: number) {
    this.writeRevision = exec.main;
  }

  get(key: Uint8Array): Promise<KeyValue | undefined> {
    return applierGet(this.st, key);
  }

  // The put's own promise (not an async frame of this one per projection).
  put(key: Uint8Array, value: Uint8Array): Promise<unknown> {
    return this.exec.put({ key, value });
  }

  putNew(key: Uint8Array, value: Uint8Array): boolean {
    return this.exec.putNew(key, value);
  }

  putKnown(key: Uint8Array, value: Uint8Array): boolean {
    return this.exec.putKnown(key, value);
  }

  async delete(key: Uint8Array): Promise<boolean> {
    return (await this.exec.deleteRange({ key })).deleted > 0;
  }

  append(op: BatchOp, unread?: boolean): void {
    this.out.ops.push(op);
    if (unread !== true) this.st.rawOverlay.set(keyString(op.key), op.type === 'put' ? op.value : null);
  }

  read(key: Uint8Array): Promise<Uint8Array | undefined> {
    const ks = keyString(key);
    const own = this.st.rawOverlay.get(ks);
    if (own !== undefined) return Promise.resolve(own ?? undefined);
    const ahead = this.st.rawPrefetched.get(ks);
    if (ahead !== undefined) return Promise.resolve(ahead ?? undefined);
    return this.st.engine.get(key);
  }
}

/**
 * Compaction as etcd does it: reads below `rev` fail from now on (the logical part, here,
 * in the batch), and the revisions no read can reach any more are deleted afterwards in
 * bounded chunks (compactor.ts), resumed after a restart. A newer compaction restarts the
 * walk at the newer revision; what the older one deleted the newer one would delete too.
 */
function compact(st: MvccState, rev: number, out: BatchOut): CommandResponse {
  // etcd accepts Compact(0) on a store never compacted (its compacted revision starts at
  // -1, ours at 0): nothing lies below revision 0, so it changes nothing.
  if (rev === 0 && st.compacted === 0) return { type: 'compact', compact: { revision: st.revision } };
  if (rev <= st.compacted) throw new MvccError('compacted');
  if (rev > st.revision) throw new MvccError('future-revision');
  st.compacted = rev;
  st.pending = { revision: rev, cursor: HISTORY_START };
  out.ops.push(pendingCompactionOp(st.pending));
  return { type: 'compact', compact: { revision: st.revision } };
}

function alarm(st: MvccState, req: AlarmRequest, out: BatchOut): CommandResponse {
  const { alarms, changed } = st.alarms.apply(req);
  if (changed) out.ops.push({ type: 'put', key: META_ALARMS_KEY, value: st.alarms.encode() });
  return { type: 'alarm', alarm: { alarms } };
}

function grant(st: MvccState, index: number, req: LeaseGrantRequest, out: BatchOut): CommandResponse {
  if (req.ttl > LEASE_TTL_MAX_SECONDS) throw new MvccError('lease-ttl-too-large');
  const ttl = Math.max(req.ttl, LEASE_TTL_MIN_SECONDS);
  const id = req.id === 0 ? st.leases.chooseId(index) : req.id;
  if (st.leases.has(id)) throw new MvccError('lease-exists');
  st.leases.add(id, ttl, 0);
  out.ops.push({ type: 'put', key: leaseKey(id), value: encodeLease({ ttl, remainingTtl: 0 }) });
  out.leaseChanges.push({ type: 'grant', id, ttl, remainingTtl: 0 });
  return { type: 'leaseGrant', leaseGrant: { revision: st.revision, id, ttl } };
}

/** Deletes the lease's keys in one revision, in key order (the same sub-revisions everywhere). */
async function revoke(st: MvccState, exec: TxnExec, id: number, out: BatchOut): Promise<void> {
  const lease = st.leases.get(id);
  if (lease === undefined) throw new MvccError('lease-not-found');
  for (const k of [...lease.keys].sort()) {
    await exec.deleteRange({ key: Uint8Array.from(Buffer.from(k, 'latin1')) });
  }
  assert(lease.keys.size === 0, () => `lease ${id} still has ${lease.keys.size} keys after revoke`);
  st.leases.remove(id);
  out.ops.push({ type: 'del', key: leaseKey(id) });
  out.leaseChanges.push({ type: 'revoke', id });
}

function checkpoint(st: MvccState, req: LeaseCheckpointRequest, out: BatchOut): CommandResponse {
  for (const c of req.checkpoints) {
    const lease = st.leases.get(c.id);
    if (lease === undefined) continue; // revoked since the leader took the checkpoint
    lease.remainingTtl = c.remainingTtl;
    out.ops.push({ type: 'put', key: leaseKey(c.id), value: encodeLease({ ttl: lease.ttl, remainingTtl: c.remainingTtl }) });
    out.leaseChanges.push({ type: 'checkpoint', id: c.id, remainingTtl: c.remainingTtl });
  }
  return { type: 'leaseCheckpoint', leaseCheckpoint: { revision: st.revision } };
}

