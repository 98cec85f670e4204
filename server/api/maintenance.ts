// The Maintenance service: Status, Alarm, Defragment, Hash, HashKV, MoveLeader and the
// Snapshot stream.
//
// Snapshot, as etcd sends it and etcdctl 3.4 `snapshot save` checks it: the state in
// chunks with `remaining_bytes` counting down, padded with zero bytes to a multiple of
// 512, then one last message whose blob is the 32-byte SHA-256 of everything before it
// (etcdctl requires size % 512 == 32; `snapshot restore` verifies the digest).

import { createHash } from 'node:crypto';
import type {
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { AlarmAction, AlarmType, Backend } from './backend.js';
import { idFromWire, int64 } from './convert.js';
import { EtcdErrors, invalidArgument, toApiError } from './errors.js';
import type { ApiLimits } from './limits.js';
import { answer, header } from './respond.js';
import { isClosed, writeWithBackpressure } from './streams.js';
import type { Int64 } from './wire.js';
import { ETCD_SERVER_VERSION } from '../util/version.js';

/** The etcd version Status reports: the API level regionstore serves. */
export const ETCD_COMPAT_VERSION = ETCD_SERVER_VERSION;
/** HashKV's compact_revision before any compaction: etcd's compactMainRev starts at -1. */
export const NEVER_COMPACTED_REVISION = -1;
/** etcdctl wants the snapshot payload to be whole 512-byte sectors. */
export const SNAPSHOT_ALIGN_BYTES = 512;

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

export function maintenanceService(backend: Backend, limits: ApiLimits): UntypedServiceImplementation {
  const current = (): unknown => {
    const h = backend.headerInfo();
    return { header: header(h, h.revision) };
  };

  const Status: Unary<Record<string, never>> = (_call, cb) =>
    answer(
      cb,
      () => backend.status(),
      (s) => {
        const h = backend.headerInfo();
        return {
          header: header(h, h.revision),
          version: ETCD_COMPAT_VERSION,
          dbSize: s.dbSize,
          leader: s.leader,
          raftIndex: s.raftIndex,
          raftTerm: s.raftTerm,
          raftAppliedIndex: s.raftAppliedIndex,
          errors: s.errors,
          dbSizeInUse: s.dbSizeInUse,
          isLearner: s.isLearner,
        };
      },
    );

  const Alarm: Unary<{ action: number; memberID: Int64; alarm: number }> = (call, cb) =>
    answer(
      cb,
      () => {
        const { action, alarm } = call.request;
        if (action < 0 || action > 2) throw invalidArgument(`etcdserver: unknown alarm action ${action}`);
        if (alarm < 0 || alarm > 2) throw invalidArgument(`etcdserver: unknown alarm type ${alarm}`);
        const member = idFromWire(call.request.memberID);
        if (member === undefined) throw EtcdErrors.memberNotFound;
        return backend.alarm(action as AlarmAction, member, alarm as AlarmType);
      },
      (alarms) => {
        const h = backend.headerInfo();
        return { header: header(h, h.revision), alarms };
      },
    );

  // etcd 3.4 and 3.5 answer Defragment with an empty response, no header.
  const Defragment: Unary<Record<string, never>> = (_call, cb) =>
    answer(cb, () => backend.defragment(), () => ({}));

  const Hash: Unary<Record<string, never>> = (_call, cb) =>
    answer(
      cb,
      () => backend.hash(),
      (hash) => {
        const h = backend.headerInfo();
        return { header: header(h, h.revision), hash };
      },
    );

  const HashKV: Unary<{ revision: Int64 }> = (call, cb) =>
    answer(
      cb,
      async () => {
        const revision = Math.max(0, int64(call.request.revision));
        const r = await backend.hashKV(revision);
        // etcd refuses a hash AT the compacted revision too (mvcc HashByRev: rev <= compactRev),
        // where a Range at that revision is still answered.
        if (revision > 0 && revision <= r.compactRevision) throw EtcdErrors.compacted;
        return r;
      },
      (r) => {
        const h = backend.headerInfo();
        // etcd 3.5 puts the hashed revision in the header and has no hash_revision field
        // (3.6 adds it): the header says which revision the hash covers.
        return {
          header: header(h, r.hashRevision),
          hash: r.hash,
          compactRevision: r.compactRevision > 0 ? r.compactRevision : NEVER_COMPACTED_REVISION,
        };
      },
    );

  const MoveLeader: Unary<{ targetID: Int64 }> = (call, cb) =>
    answer(
      cb,
      () => {
        const target = idFromWire(call.request.targetID);
        if (target === undefined || target === 0) throw EtcdErrors.badLeaderTransferee;
        return backend.moveLeader(target);
      },
      current,
    );

  const Snapshot = (call: ServerWritableStream<Record<string, never>, unknown>): void => {
    sendSnapshot(backend, limits, call).catch((err: unknown) => {
      if (!isClosed(call)) call.emit('error', toApiError(err));
    });
  };

  return { Status, Alarm, Defragment, Hash, HashKV, MoveLeader, Snapshot };
}

async function sendSnapshot(
  backend: Backend,
  limits: ApiLimits,
  call: ServerWritableStream<Record<string, never>, unknown>,
): Promise<void> {
  const snap = await backend.snapshot();
  const size = snap.sizeBytes;
  const padded = Math.ceil(size / SNAPSHOT_ALIGN_BYTES) * SNAPSHOT_ALIGN_BYTES;
  const sha = createHash('sha256');
  let sent = 0;
  // No header on any message: etcd 3.4 and 3.5 send none (3.6 adds only a version).
  const send = async (blob: Uint8Array): Promise<void> => {
    sha.update(blob);
    sent += blob.length;
    await writeWithBackpressure(call, { header: null, remainingBytes: padded - sent, blob });
  };
  for await (const chunk of snap.chunks) {
    if (sent + chunk.length > size) {
      throw new Error(`snapshot yielded more than its announced ${size} bytes`);
    }
    for (let off = 0; off < chunk.length; off += limits.snapshotChunkBytesMax) {
      await send(chunk.subarray(off, off + limits.snapshotChunkBytesMax));
    }
  }
  if (sent !== size) throw new Error(`snapshot yielded ${sent} bytes, announced ${size}`);
  if (padded > size) await send(Buffer.alloc(padded - size));
  await writeWithBackpressure(call, { header: null, remainingBytes: 0, blob: sha.digest() });
  call.end();
}
