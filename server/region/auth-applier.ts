// Applies Auth commands (Raft entries of kind Auth) to the pure auth store (server/auth)
// and keeps it in the state keyspace StateKeyspace.Auth: one record with the whole state
// (users and roles are few; etcd keeps them in three small buckets) and the index of the
// last applied Auth entry, written in one engine batch so a re-delivered entry (after a
// restart raft re-delivers from its snapshot index) is skipped: exactly once. The state
// travels with the state database, so it survives restart and snapshot install.
//
// Tokens are not state: each member keeps the tokens of the Authenticate entries it
// applied (etcd's simple tokens live in each member's memory the same way), with a TTL
// on its own clock.

import {
  AuthStore, SimpleTokens, decodeAuthCommand, decodeAuthState, encodeAuthState,
  type AuthApplyOutcome, type AuthStateData,
} from '../auth/index.js';
import { StateKeyspace, concatBytes, decodeU64, encodeU64, type Engine } from '../storage/index.js';

const STATE_KEY = concatBytes(Uint8Array.of(StateKeyspace.Auth), new TextEncoder().encode('state'));
const APPLIED_KEY = concatBytes(Uint8Array.of(StateKeyspace.Auth), new TextEncoder().encode('applied-index'));

/** What the proposer of an Auth entry gets back. */
export type AuthApplyResult = { type: 'auth'; outcome: AuthApplyOutcome };

export class AuthApplier {
  private constructor(
    private st: AuthStore,
    private applied: number,
    readonly tokens: SimpleTokens,
    private readonly now: () => number,
  ) {}

  /** Loads the auth state (at open and after a snapshot install); tokens are kept across an install. */
  static async load(engine: Engine, tokens: SimpleTokens, now: () => number): Promise<AuthApplier> {
    const raw = await engine.get(STATE_KEY);
    const applied = await engine.get(APPLIED_KEY);
    const store = raw === undefined ? new AuthStore() : AuthStore.of(decodeAuthState(raw));
    return new AuthApplier(store, applied === undefined ? 0 : decodeU64(applied), tokens, now);
  }

  get store(): AuthStore {
    return this.st;
  }

  /** Applies the Auth entry at `index`; undefined when it was applied before. */
  async apply(index: number, body: Uint8Array, engine: Engine): Promise<AuthApplyResult | undefined> {
    if (index <= this.applied) return undefined;
    const { outcome, effect } = this.st.apply(decodeAuthCommand(body), index);
    await engine.write([
      { type: 'put', key: STATE_KEY, value: encodeAuthState(this.st.data()) },
      { type: 'put', key: APPLIED_KEY, value: encodeU64(index) },
    ]);
    this.applied = index;
    if (effect.clearTokens === true) this.tokens.clear();
    if (effect.invalidateUser !== undefined) this.tokens.invalidateUser(effect.invalidateUser);
    if (effect.assign !== undefined) this.tokens.assign(effect.assign.token, effect.assign.user, this.now());
    return { type: 'auth', outcome };
  }
}

/** Writes an auth state as a restore brings it in (etcd-restore.ts). */
export function authStateOps(data: AuthStateData): Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> {
  return [{ type: 'put', key: STATE_KEY, value: encodeAuthState(data) }];
}

/** Reads the auth state of a state database (etcd-snapshot.ts exports it). */
export async function readAuthState(engine: Engine): Promise<AuthStateData> {
  const raw = await engine.get(STATE_KEY);
  return raw === undefined ? new AuthStore().data() : decodeAuthState(raw);
}
