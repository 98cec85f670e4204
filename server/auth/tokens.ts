// etcd's "simple" token provider (server/auth/simple_token.go), pure: an opaque token
// names a user on the members that applied its Authenticate entry; each member forgets it
// after `ttlMs` without use (every use restarts the TTL), when the user is deleted or
// changes password, and when auth is disabled. Time is passed in, never read.

/** etcd's default --auth-token-ttl: 300 s. */
export const SIMPLE_TOKEN_TTL_MS_DEFAULT = 300_000;
/** Tokens one member keeps at most; the oldest is dropped past it (etcd has no cap; a bound keeps memory finite). */
export const SIMPLE_TOKENS_MAX = 100_000;

interface Entry {
  user: string;
  expiresAtMs: number;
}

export class SimpleTokens {
  private readonly tokens = new Map<string, Entry>();

  constructor(private readonly ttlMs: number = SIMPLE_TOKEN_TTL_MS_DEFAULT) {}

  assign(token: string, user: string, nowMs: number): void {
    if (this.tokens.size >= SIMPLE_TOKENS_MAX) {
      const oldest = this.tokens.keys().next();
      if (oldest.done !== true) this.tokens.delete(oldest.value);
    }
    this.tokens.set(token, { user, expiresAtMs: nowMs + this.ttlMs });
  }

  /** The user a live token names (its TTL restarts), or undefined. */
  user(token: string, nowMs: number): string | undefined {
    const e = this.tokens.get(token);
    if (e === undefined) return undefined;
    if (e.expiresAtMs <= nowMs) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expiresAtMs = nowMs + this.ttlMs;
    return e.user;
  }

  invalidateUser(user: string): void {
    for (const [token, e] of this.tokens) if (e.user === user) this.tokens.delete(token);
  }

  clear(): void {
    this.tokens.clear();
  }

  /** Drops expired tokens (called from the member's tick). */
  expire(nowMs: number): void {
    for (const [token, e] of this.tokens) if (e.expiresAtMs <= nowMs) this.tokens.delete(token);
  }

  get size(): number {
    return this.tokens.size;
  }
}
