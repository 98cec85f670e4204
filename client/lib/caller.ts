// Runs a unary call with the client's policy: pick a member (the leader when known),
// give each attempt its own deadline inside the call's, retry retryable failures after
// a jittered backoff on another member, attach the writer identity to writes (the same
// seq on every attempt), honour the caller's AbortSignal, and throw a typed error that
// says whether a failed write may have taken effect.

import { Metadata, status } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, ClientClosedError, errorFromStatus, type RegionstoreError } from './errors.js';
import { CLIENT_ID_METADATA_KEY, SEQ_METADATA_KEY, type WriteTicket, type WriterIdentity } from './identity.js';
import { backoffMs, isRetryable, maybeAppliedAfter, type CallKind } from './policy.js';
import { LEADER_WAIT_MS_MAX, type Endpoint, type EndpointPool, type Preference } from './pool.js';
import type { Method } from './proto.js';
import { attemptErrorOf, unaryAttempt, type AttemptError } from './rpc.js';

export interface CallOptions {
  /** Deadline of the whole call, retries included (default: the client's timeoutMs). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Send to this member only ("host:port" or a URL), e.g. for per-member status. */
  endpoint?: string;
  /**
   * Writes: carry this writer identity instead of one of the client's own slots. For a
   * caller that re-sends a write after a lost response itself (the chaos harness does, to
   * show the server applies the pair once): the id must be the caller's alone, with seqs
   * increasing per write and one write of that id in flight at a time (identity.ts).
   */
  identity?: WriteTicket;
}

/** What the services add to a call besides CallOptions (read levels). */
export interface CallExtras {
  /** Request metadata (reads: the read level). */
  metadata?: Metadata | undefined;
  /** Called with the trailing metadata of the attempt that answered. */
  onTrailers?: ((md: Metadata) => void) | undefined;
}

export interface CallerSettings {
  timeoutMs: number;
  attemptTimeoutMs: number;
  attemptsMax: number;
  /** Where reads go: the leader (default) or any member, round-robin. */
  readPreference: Preference;
  onRetry?: ((e: RetryEvent) => void) | undefined;
}

/** A failed attempt that is about to be retried (for logs and metrics). */
export interface RetryEvent {
  /** gRPC method path, e.g. /etcdserverpb.KV/Put. */
  method: string;
  kind: CallKind;
  /** The attempt that failed (1 = the first). */
  attempt: number;
  code: status;
  details: string;
  endpoint: string;
  /** Whether the write may have taken effect so far (a retry carries the same identity). */
  maybeApplied: boolean;
  backoffMs: number;
}

export function identityMetadata(t: WriteTicket): Metadata {
  const md = new Metadata();
  md.set(CLIENT_ID_METADATA_KEY, t.clientId);
  md.set(SEQ_METADATA_KEY, String(t.seq));
  return md;
}

interface Attempting {
  kind: CallKind;
  method: Method;
  req: unknown;
  deadlineMs: number;
  fixed: Endpoint | undefined;
  metadata: Metadata | undefined;
  /** Aborted by the caller's signal or by close(). */
  signal: AbortSignal;
  onTrailers: ((md: Metadata) => void) | undefined;
}

export class Caller {
  private closed = false;
  private readonly inFlight = new Set<AbortController>();

  constructor(
    readonly pool: EndpointPool,
    readonly identity: WriterIdentity,
    readonly settings: CallerSettings,
  ) {}

  async unary<Res>(method: Method, req: unknown, kind: CallKind, opts: CallOptions = {}, extras: CallExtras = {}): Promise<Res> {
    if (this.closed) throw new ClientClosedError();
    if (opts.signal?.aborted === true) throw aborted(opts.signal, false, 0, undefined);
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.inFlight.add(ac);
    let ticket: WriteTicket | undefined;
    try {
      const fixed = opts.endpoint === undefined ? undefined : this.pool.byAddress(opts.endpoint);
      const deadlineMs = Date.now() + (opts.timeoutMs ?? this.settings.timeoutMs);
      if (kind === 'write' && opts.identity === undefined) {
        try {
          ticket = await this.identity.acquire(ac.signal);
        } catch {
          throw this.closed ? new ClientClosedError() : aborted(opts.signal, false, 0, undefined);
        }
      }
      const sent = ticket ?? (kind === 'write' ? opts.identity : undefined);
      const metadata = sent === undefined ? extras.metadata : identityMetadata(sent);
      return await this.attempts<Res>({ kind, method, req, deadlineMs, fixed, metadata, signal: ac.signal, onTrailers: extras.onTrailers }, opts.signal);
    } finally {
      if (ticket !== undefined) this.identity.release(ticket);
      opts.signal?.removeEventListener('abort', onAbort);
      this.inFlight.delete(ac);
    }
  }

  private prefer(kind: CallKind): Preference {
    return kind === 'read' ? this.settings.readPreference : 'leader';
  }

  private async attempts<Res>(a: Attempting, userSignal: AbortSignal | undefined): Promise<Res> {
    const prefer = this.prefer(a.kind);
    // With one endpoint the pick is that endpoint whoever leads: asking first would cost a
    // Status round trip before every call wherever no leader is named (an edge names none;
    // that was a whole extra round trip in each edge write of bench:edge's live row).
    if (a.fixed === undefined && prefer === 'leader' && this.pool.leader === undefined && this.pool.endpoints.length > 1) await this.pool.refreshLeader();
    let maybeApplied = false;
    let ep: Endpoint | undefined;
    let last: AttemptError | undefined;
    for (let attempt = 1; ; attempt++) {
      ep = a.fixed ?? this.pool.pick(prefer, last === undefined ? undefined : ep);
      const deadlineMs = Math.min(a.deadlineMs, Date.now() + this.settings.attemptTimeoutMs);
      try {
        return await unaryAttempt<Res>(ep.conn(), a.method, a.req, { deadlineMs, metadata: a.metadata, signal: a.signal, onTrailers: a.onTrailers });
      } catch (err) {
        last = attemptErrorOf(err);
      }
      maybeApplied = maybeAppliedAfter(a.kind, maybeApplied, last);
      if (a.signal.aborted) throw this.closed ? closedError(maybeApplied) : aborted(userSignal, maybeApplied, attempt, ep);
      this.pool.reportFailure(ep, last);
      const remainingMs = a.deadlineMs - Date.now();
      if (!isRetryable(a.kind, last) || attempt >= this.settings.attemptsMax || remainingMs <= 0) {
        throw errorFromStatus({ code: last.code, details: last.details, maybeApplied, endpoint: ep.address, attempts: attempt });
      }
      const waitMs = Math.min(backoffMs(attempt), remainingMs);
      this.settings.onRetry?.({
        method: a.method.path, kind: a.kind, attempt, code: last.code, details: last.details, endpoint: ep.address, maybeApplied, backoffMs: waitMs,
      });
      try {
        await sleep(waitMs, undefined, { signal: a.signal });
        if (a.fixed === undefined && prefer === 'leader' && this.pool.leader === undefined) {
          await this.pool.awaitLeader(Math.min(LEADER_WAIT_MS_MAX, a.deadlineMs - Date.now()), a.signal);
        }
      } catch {
        throw this.closed ? closedError(maybeApplied) : aborted(userSignal, maybeApplied, attempt, ep);
      }
    }
  }

  /** Fails every call in flight with ClientClosedError; later calls fail at once. */
  close(): void {
    this.closed = true;
    for (const ac of this.inFlight) ac.abort();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

function aborted(signal: AbortSignal | undefined, maybeApplied: boolean, attempts: number, ep: Endpoint | undefined): RegionstoreError {
  const reason = signal?.reason instanceof Error ? signal.reason.message : String(signal?.reason ?? 'aborted');
  return new CancelledError({
    code: status.CANCELLED,
    details: `regionstore client: the call was aborted: ${reason}`,
    maybeApplied,
    ...(ep === undefined ? {} : { endpoint: ep.address }),
    attempts,
  });
}

function closedError(maybeApplied: boolean): RegionstoreError {
  return new ClientClosedError(maybeApplied);
}
