// The regionstore.v1.Crdt service (proto/regionstore/v1/crdt_service.proto; DESIGN §2, §6a):
// typed writes and reads of eventual namespaces. Each handler converts and validates the
// wire request (crdt-request.ts), calls the CrdtBackend, and shapes the answer
// (crdt-response.ts); failures map to gRPC statuses with the backend's message (errors.ts).
//
// Writes carry the writer's identity (rs-client-id / rs-seq metadata, identity.ts) so a
// retried Write applies at most once. Reads take the read levels of etcd Range: the
// rs-read-level / rs-max-staleness-ms / rs-min-revision metadata, else the request's
// `serializable` flag, else the backend's default (linearizable in the region); the
// trailing metadata carries rs-applied-revision (and rs-served-read-level when a level was
// asked for), as Range's does.

import { Metadata, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { APPLIED_REVISION_METADATA_KEY, ReadLevel, SERVED_LEVEL_METADATA_KEY, type ReadAsk } from '../namespace/index.js';
import type { CrdtAnswerBase, CrdtBackend } from './crdt-backend.js';
import {
  completenessFromWire, conflictsFromWire, hashNamespaceFromWire, readFromWire, supersededFromWire, writeFromWire,
} from './crdt-request.js';
import {
  completenessToWire, conflictsToWire, hashToWire, readToWire, supersededToWire, writeToWire,
} from './crdt-response.js';
import type {
  WireCompletenessRequest, WireConflictsRequest, WireHashRequest, WireReadRequest, WireSupersededRequest, WireWriteRequest,
} from './crdt-wire.js';
import { identityFromMetadata } from './identity.js';
import type { ApiLimits } from './limits.js';
import { deadlineMsOf, readAskFromMetadata } from './read-level.js';
import { answer } from './respond.js';

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

/** The level a read asks for: metadata first (as on Range), then the request's flag. */
export function crdtReadAsk(md: Metadata, serializable: boolean | undefined): ReadAsk | undefined {
  const ask = readAskFromMetadata(md);
  if (ask !== undefined) return ask;
  return serializable === true ? { level: ReadLevel.Serializable } : undefined;
}

function trailers(r: CrdtAnswerBase, ask: ReadAsk | undefined): Metadata {
  const md = new Metadata();
  md.set(APPLIED_REVISION_METADATA_KEY, String(r.revision));
  if (ask !== undefined) md.set(SERVED_LEVEL_METADATA_KEY, ask.level);
  return md;
}

/**
 * A read handler: validates with `fromWire`, reads at the asked level, answers with the
 * trailers of a leveled Range.
 */
function leveled<Req extends { serializable?: boolean }, In, R extends CrdtAnswerBase>(
  fromWire: (req: Req) => In,
  read: (input: In, ask: ReadAsk | undefined, deadlineMs: number) => Promise<R>,
  toWire: (r: R) => unknown,
): Unary<Req> {
  return (call, cb) => {
    let ask: ReadAsk | undefined;
    let md: Metadata | undefined;
    const done: sendUnaryData<unknown> = (err, value) => (err === null ? cb(null, value, md) : cb(err));
    answer(
      done,
      () => {
        const input = fromWire(call.request);
        ask = crdtReadAsk(call.metadata, call.request.serializable);
        return read(input, ask, deadlineMsOf(call.getDeadline()));
      },
      (r) => {
        md = trailers(r, ask);
        return toWire(r);
      },
    );
  };
}

export function crdtService(crdt: CrdtBackend, limits: ApiLimits): UntypedServiceImplementation {
  const Write: Unary<WireWriteRequest> = (call, cb) =>
    answer(cb, () => crdt.write(writeFromWire(call.request, limits), identityFromMetadata(call.metadata)), writeToWire);

  const Read = leveled<WireReadRequest, ReturnType<typeof readFromWire>, Awaited<ReturnType<CrdtBackend['read']>>>(
    (req) => readFromWire(req, limits), (input, ask, deadline) => crdt.read(input, ask, deadline), readToWire);
  const Superseded = leveled<WireSupersededRequest, ReturnType<typeof supersededFromWire>, Awaited<ReturnType<CrdtBackend['superseded']>>>(
    (req) => supersededFromWire(req, limits), (input, ask, deadline) => crdt.superseded(input, ask, deadline), supersededToWire);
  const Completeness = leveled<WireCompletenessRequest, ReturnType<typeof completenessFromWire>, Awaited<ReturnType<CrdtBackend['completeness']>>>(
    (req) => completenessFromWire(req, limits), (input, ask, deadline) => crdt.completeness(input, ask, deadline), completenessToWire);
  const Conflicts = leveled<WireConflictsRequest, ReturnType<typeof conflictsFromWire>, Awaited<ReturnType<CrdtBackend['conflicts']>>>(
    (req) => conflictsFromWire(req, limits), (input, ask, deadline) => crdt.conflicts(input, ask, deadline), conflictsToWire);

  // The member's own applied state: what tests and operators compare across members.
  const Hash: Unary<WireHashRequest> = (call, cb) =>
    answer(cb, () => crdt.hash(hashNamespaceFromWire(call.request.namespace)), hashToWire);

  return { Write, Read, Superseded, Completeness, Conflicts, Hash };
}
