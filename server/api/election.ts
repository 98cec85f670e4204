// The Election service (etcd's v3electionpb.Election) on the client port: thin handlers
// over concurrency/election.ts, which holds the semantics.

import type {
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Backend } from './backend.js';
import { answerRecipe, asEtcdRecipeError, callSignal } from './concurrency/call.js';
import { campaign, currentLeader, observe, proclaim, resign, type LeaderKey, type LeaderRef } from './concurrency/election.js';
import { RecipeErrors, recipeError } from './concurrency/recipes.js';
import { idFromWire, int64 } from './convert.js';
import type { ApiLimits } from './limits.js';
import { header } from './respond.js';
import { isClosed, writeWithBackpressure } from './streams.js';
import type { Int64 } from './wire.js';

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

interface WireLeaderKey {
  name: Buffer;
  key: Buffer;
  rev: Int64;
  lease: Int64;
}

/** The request's LeaderKey; etcd's error when the field is absent. */
function leaderFromWire(w: WireLeaderKey | null | undefined): LeaderRef {
  if (w === null || w === undefined) throw recipeError(RecipeErrors.missingLeaderKey);
  return { name: w.name, key: w.key, rev: int64(w.rev), lease: idFromWire(w.lease) };
}

function leaderToWire(l: LeaderKey): unknown {
  return { name: l.name, key: l.key, rev: l.rev, lease: l.lease };
}

export function electionService(backend: Backend, limits: ApiLimits): UntypedServiceImplementation {
  const Campaign: Unary<{ name: Buffer; lease: Int64; value: Buffer }> = (call, cb) =>
    answerRecipe(
      cb,
      () => campaign(backend, limits, call.request.name, idFromWire(call.request.lease), call.request.value, callSignal(call)),
      (r) => ({ header: header(backend.headerInfo(), r.revision), leader: leaderToWire(r.leader) }),
    );

  const Proclaim: Unary<{ leader: WireLeaderKey | null; value: Buffer }> = (call, cb) =>
    answerRecipe(
      cb,
      () => proclaim(backend, limits, leaderFromWire(call.request.leader), call.request.value),
      (r) => ({ header: header(backend.headerInfo(), r.revision) }),
    );

  const Resign: Unary<{ leader: WireLeaderKey | null }> = (call, cb) =>
    answerRecipe(
      cb,
      () => {
        const l = leaderFromWire(call.request.leader);
        // The lease plays no part in resigning: only the key's generation is compared.
        return resign(backend, limits, { ...l, lease: l.lease ?? 0 });
      },
      (r) => ({ header: header(backend.headerInfo(), r.revision) }),
    );

  const Leader: Unary<{ name: Buffer }> = (call, cb) =>
    answerRecipe(
      cb,
      () => currentLeader(backend, limits, call.request.name),
      (r) => ({ header: header(backend.headerInfo(), r.revision), kv: r.kv }),
    );

  const Observe = (call: ServerWritableStream<{ name: Buffer }, unknown>): void => {
    const signal = callSignal(call);
    void (async () => {
      try {
        for await (const r of observe(backend, limits, call.request.name, signal)) {
          await writeWithBackpressure(call, { header: header(backend.headerInfo(), r.revision), kv: r.kv });
        }
        if (!isClosed(call)) call.end();
      } catch (err) {
        if (!isClosed(call)) call.emit('error', asEtcdRecipeError(err));
      }
    })();
  };

  return { Campaign, Proclaim, Resign, Leader, Observe };
}
