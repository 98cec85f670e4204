// One sync session: one stream between two replicas, both roles (DESIGN §6, issue 14).
//
//   initiator                                acceptor
//   HELLO (vectors, window, encodings)  ──►
//                                       ◄──  HELLO (its vectors, ahead_of_you, resync)
//   DELTA pages of what the peer lacks  ◄─►  DELTA pages (catch-up, the last one caught_up,
//   ACK after durable apply             ◄─►  then live pushes as the replica changes)
//   RESEND_FROM on a gap, SyncError on a refusal, HEARTBEAT when idle, both ways.
//
// Sending: per namespace a pump extracts what the peer lacks (from `peerHas`: the peer's
// HELLO vector, raised by what we sent, its ACKs and the ranges it sent us; lowered by a
// RESEND_FROM) and sends pages while a window permit is free. Receiving: pages are decoded,
// checked (limits, kind, clock skew) and applied in arrival order (applies may overlap, the
// replica keeps their order), answered in the same order once durable.
// Every way out is end(): one outcome, timers stopped, the stream closed; run() never rejects.

import { ClockSkewError, DeltaGapError, MalformedDeltaError, VersionVector, type CrdtKind, type DeltaPage, type Hlc } from '../crdt/index.js';
import { silentLogger, type Logger } from '../util/logger.js';
import {
  SyncCodecError, decodeSyncMessage, encodeSyncMessage,
  type AckMessage, type DeltaMessage, type ErrorMessage, type HelloMessage, type ResendFromMessage, type SyncMessage, type WireHlc,
} from '../../proto/sync-codec.js';
import type { PageCodec } from './channel.js';
import { aheadMessage, aheadOfPeer, checkHello, fromWire, peerWindow, toWire } from './hello.js';
import {
  SYNC_ACK_DEADLINE_MS_DEFAULT, SYNC_HEARTBEAT_MS_DEFAULT, SYNC_HELLO_DEADLINE_MS_DEFAULT, SYNC_MESSAGE_BYTES_MAX,
  SYNC_PAGE_BUDGET_BYTES_DEFAULT, SYNC_PAGE_BYTES_MAX, SYNC_PEER_SILENCE_MS_DEFAULT, SYNC_PROTOCOL_VERSION,
  SYNC_REFUSED_RETRY_MS_DEFAULT, SYNC_WINDOW_DEFAULT, SYNC_WINDOW_MAX,
} from './limits.js';
import { PageError, chooseCodec, decodePage, encodePage, withIdentity } from './pages.js';
import { Permits } from './permits.js';
import { traceNow, tracePoint, tracing } from '../util/trace-points.js';
import type { ApplyResult, ExtractedPage, ReplicaSide, SyncErrorCode } from './replica-side.js';
import type { SyncEndReason, SyncOutcome, SyncSessionOptions, SyncStats } from './types.js';

/** Per namespace, what each direction knows. */
interface NsState {
  readonly name: string;
  readonly kind: CrdtKind;
  /** What the peer holds or was sent (never re-sent unless lowered by a RESEND_FROM or a refusal). */
  readonly peerHas: Map<string, number>;
  /** The peer's durable vector (HELLO, ACKs): monotonic. */
  readonly peerAcked: VersionVector;
  /** Per origin, the last page id sent before peerHas was lowered: answers to older pages are stale. */
  readonly loweredAt: Map<string, number>;
  catchUpSent: boolean;
  catchUpAcked: boolean;
  caughtUpReceived: boolean;
  pumping: boolean;
  dirty: boolean;
  /** Set when peerHas was lowered: the running extraction stops and starts again. */
  restart: boolean;
  /** Monotonic ms before which nothing is offered (after a refusal). */
  pausedUntil: number;
  cancelPauseTimer?: () => void;
}

interface InFlight {
  readonly ns: string;
  readonly ranges: ReadonlyArray<{ origin: string; from: number; to: number }>;
  readonly sentAt: number;
  readonly records: number;
  readonly caughtUp: boolean;
}

interface Receiving {
  readonly pageId: number;
  readonly startedAt: number;
}

class EndSignal extends Error {}

const emptyStats = (now: number): SyncStats => ({
  bytesSent: 0, bytesReceived: 0, pagesSent: 0, pagesReceived: 0, pageBytesSent: 0, pageBytesReceived: 0,
  opsSent: 0, opsApplied: 0, refusedSent: 0, refusedReceived: 0, resendsSent: 0, resendsReceived: 0,
  skewMs: 0, maxAbsSkewMs: 0, skewRefusals: 0, lagOps: 0, lagMs: 0, caughtUpSent: 0, caughtUpReceived: 0,
  startedMs: now, lastReceivedMs: now,
});

export class SyncSession {
  readonly stats: SyncStats;
  /** The peer's HELLO once it arrived. */
  peer: HelloMessage | undefined;

  private readonly replica: ReplicaSide;
  private readonly log: Logger;
  private readonly codecs: PageCodec[];
  private readonly window: number;
  private readonly heartbeatMs: number;
  private readonly peerSilenceMs: number;
  private readonly helloDeadlineMs: number;
  private readonly ackDeadlineMs: number;
  private readonly refusedRetryMs: number;
  private readonly budget: number;
  private sessionId: string;

  private readonly nss = new Map<string, NsState>();
  private readonly inflight = new Map<number, InFlight>();
  private permits = new Permits(1);
  private sendCodec: PageCodec;
  private nextPageId = 1;
  private lastSentMs: number;

  /** Received DELTAs not yet answered, in order (their applies may overlap). */
  private readonly receiving: Receiving[] = [];
  private answerChain: Promise<void> = Promise.resolve();

  private ended: SyncOutcome | undefined;
  private resolveEnd!: (o: SyncOutcome) => void;
  private readonly endPromise: Promise<SyncOutcome>;
  private readonly cleanups: Array<() => void> = [];
  private readonly caughtUpWaiters: Array<(ok: boolean) => void> = [];
  private started = false;

  constructor(private readonly opts: SyncSessionOptions) {
    this.replica = opts.replica;
    this.log = opts.logger ?? silentLogger;
    this.codecs = withIdentity(opts.codecs);
    this.sendCodec = this.codecs[this.codecs.length - 1]!;
    this.window = Math.max(1, Math.min(opts.window ?? SYNC_WINDOW_DEFAULT, SYNC_WINDOW_MAX));
    this.heartbeatMs = opts.heartbeatMs ?? SYNC_HEARTBEAT_MS_DEFAULT;
    this.peerSilenceMs = opts.peerSilenceMs ?? SYNC_PEER_SILENCE_MS_DEFAULT;
    this.helloDeadlineMs = opts.helloDeadlineMs ?? SYNC_HELLO_DEADLINE_MS_DEFAULT;
    this.ackDeadlineMs = opts.ackDeadlineMs ?? SYNC_ACK_DEADLINE_MS_DEFAULT;
    this.refusedRetryMs = opts.refusedRetryMs ?? SYNC_REFUSED_RETRY_MS_DEFAULT;
    this.budget = Math.max(1, Math.min(opts.pageBudgetBytes ?? SYNC_PAGE_BUDGET_BYTES_DEFAULT, SYNC_PAGE_BYTES_MAX / 2));
    this.sessionId = opts.sessionId;
    const now = opts.clock.monotonicMs();
    this.stats = emptyStats(now);
    this.lastSentMs = now;
    this.endPromise = new Promise((resolve) => (this.resolveEnd = resolve));
  }

  get role(): 'initiator' | 'acceptor' {
    return this.opts.role;
  }

  /** The namespaces this session syncs (known once the HELLOs crossed). */
  get namespaces(): string[] {
    return [...this.nss.keys()];
  }

  get outcome(): SyncOutcome | undefined {
    return this.ended;
  }

  /** Runs the session until it ends; resolves with why (never rejects). Call once. */
  run(): Promise<SyncOutcome> {
    if (this.started) return this.endPromise;
    this.started = true;
    this.tick();
    void this.main().catch((e: unknown) => this.fail(e));
    return this.endPromise;
  }

  /** Ends the session from this side (outcome 'closed'). */
  close(message = 'closed by this side'): void {
    this.end({ reason: 'closed', message, retry: true });
  }

  /**
   * Ends the session with a fatal SyncError the peer receives before the stream closes (e.g. a
   * region member that lost leadership: `not-leader` with the leader's URL in `detail`).
   * The outcome is 'protocol-error' with that code.
   */
  abort(code: SyncErrorCode, message: string, detail?: string): void {
    this.refuse(code, message, true, detail);
  }

  /**
   * Resolves true once every namespace is caught up both ways (our catch-up acknowledged, the
   * peer's caught_up page applied); false if the session ends first.
   */
  whenCaughtUp(): Promise<boolean> {
    if (this.ended !== undefined) return Promise.resolve(false);
    if (this.isCaughtUp()) return Promise.resolve(true);
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  /** Lag now: records we hold the peer has not acknowledged, and the age of the oldest unanswered page. */
  async lag(): Promise<{ ops: number; ms: number }> {
    let ops = 0;
    if (this.nss.size > 0 && this.ended === undefined) {
      const ours = await this.replica.vectors([...this.nss.keys()]);
      for (const [ns, v] of ours) {
        const acked = this.nss.get(ns)?.peerAcked;
        for (const r of v.lacks(acked ?? new VersionVector())) ops += r.to - r.from + 1;
      }
    }
    this.stats.lagOps = ops;
    this.stats.lagMs = this.oldestInFlightAge();
    return { ops, ms: this.stats.lagMs };
  }

  // ---- the main flow

  private async main(): Promise<void> {
    const reading = this.readLoop();
    if (this.opts.role === 'initiator') await this.sendInitiatorHello();
    await reading;
  }

  private async readLoop(): Promise<void> {
    try {
      for await (const bytes of this.opts.channel.incoming) {
        if (this.ended !== undefined) return;
        this.stats.bytesReceived += bytes.length;
        this.stats.lastReceivedMs = this.opts.clock.monotonicMs();
        if (bytes.length > SYNC_MESSAGE_BYTES_MAX) {
          return this.refuse('page-too-large', `a message of ${bytes.length} bytes is over SYNC_MESSAGE_BYTES_MAX (${SYNC_MESSAGE_BYTES_MAX})`);
        }
        let msg: SyncMessage;
        try {
          msg = decodeSyncMessage(bytes);
        } catch (e) {
          if (e instanceof SyncCodecError) return this.refuse('malformed', e.message);
          throw e;
        }
        try {
          await this.dispatch(msg);
        } catch (e) {
          return this.fail(e);
        }
      }
    } catch (e) {
      if (e instanceof EndSignal || this.ended !== undefined) return;
      return this.end({ reason: 'stream-error', code: 'internal', message: `the stream failed: ${(e as Error).message}`, retry: true });
    }
    this.end({ reason: 'peer-closed', message: `peer ${this.peerName()} closed the stream`, retry: true });
  }

  private async dispatch(msg: SyncMessage): Promise<void> {
    if (msg.kind === 'error') return this.onError(msg);
    if (this.peer === undefined) {
      if (msg.kind !== 'hello') return this.refuse('malformed', `expected HELLO first, got ${msg.kind.toUpperCase()}`);
      return this.opts.role === 'initiator' ? this.onAcceptorHello(msg) : this.onInitiatorHello(msg);
    }
    if (msg.kind === 'hello') return this.refuse('malformed', 'a second HELLO on one stream');
    this.observeClock(msg.kind === 'delta' || msg.kind === 'heartbeat' ? msg : undefined);
    switch (msg.kind) {
      case 'delta': return this.onDelta(msg);
      case 'ack': return this.onAck(msg);
      case 'resend-from': return this.onResend(msg);
      case 'heartbeat': return;
    }
  }

  // ---- HELLO

  private async ourVectors(names: readonly string[]): Promise<Map<string, VersionVector>> {
    return this.replica.vectors(names);
  }

  private hello(vectors: ReadonlyMap<string, VersionVector>, extra: Partial<HelloMessage> = {}): HelloMessage {
    const physicalMs = this.opts.clock.nowMs();
    return {
      kind: 'hello', protocolVersion: SYNC_PROTOCOL_VERSION, replicaId: this.replica.replicaId, deviceId: this.replica.deviceId,
      incarnation: this.replica.incarnation,
      vectors: [...vectors].map(([namespace, v]) => ({ namespace, vector: toWire(v) })),
      hlc: wireHlc(this.replica.clock.now(physicalMs)), physicalMs,
      acceptEncodings: this.codecs.map((c) => c.name), window: this.window, sessionId: this.sessionId,
      registryRevision: this.replica.registryRevision(), aheadOfYou: [], resync: [],
      ...(this.replica.group !== undefined ? { group: this.replica.group } : {}), ...extra,
    };
  }

  private async sendInitiatorHello(): Promise<void> {
    const wanted = this.opts.namespaces !== undefined && this.opts.namespaces.length > 0
      ? [...this.opts.namespaces] : this.replica.namespaces().map((n) => n.name);
    const vectors = await this.ourVectors(wanted);
    // A resync this replica has not finished (the last session ended during its download):
    // ask for the namespace in full again.
    const resync = (this.replica.resyncing?.() ?? []).filter((ns) => vectors.has(ns));
    await this.send(this.hello(vectors, { resync }));
  }

  private peerVectors(h: HelloMessage): Map<string, VersionVector> {
    return new Map(h.vectors.map((nv) => [nv.namespace, fromWire(nv.vector)]));
  }

  private async onInitiatorHello(h: HelloMessage): Promise<void> {
    const problem = checkHello(h);
    if (problem !== undefined) return this.refuse(problem.code, problem.message, problem.retry);
    this.peer = h;
    if (h.sessionId !== '') this.sessionId = h.sessionId;
    const theirs = this.peerVectors(h);
    const admission = (await this.replica.admit?.({
      replicaId: h.replicaId, deviceId: h.deviceId, incarnation: h.incarnation, vectors: theirs,
      registryRevision: h.registryRevision, sessionId: this.sessionId, group: h.group ?? '',
    })) ?? {};
    if (admission.refuse !== undefined) {
      const r = admission.refuse;
      return this.refuse(r.code, r.message, true, r.detail);
    }
    const own = this.replica.namespaces();
    const synced = theirs.size === 0 ? own : own.filter((n) => theirs.has(n.name));
    const ours = await this.ourVectors(synced.map((n) => n.name));
    // Every synced namespace is in our HELLO, with an empty vector when the replica has none.
    for (const n of synced) if (!ours.has(n.name)) ours.set(n.name, new VersionVector());
    const ahead = aheadOfPeer(h.replicaId, ours, theirs);
    // The admission's (silent past tombstone_ttl) and the peer's own (a resync it has not finished).
    const resync = [...new Set([...(admission.resync ?? []), ...h.resync])].filter((ns) => ours.has(ns));
    await this.send(this.hello(ours, { aheadOfYou: ahead, resync }));
    if (ahead.length > 0) {
      return this.refuse('incarnation', aheadMessage(ahead, this.replica.replicaId), true);
    }
    const resyncSet = new Set(resync);
    this.begin(synced.map((n) => ({ ...n, peer: resyncSet.has(n.name) ? new VersionVector() : theirs.get(n.name) ?? new VersionVector() })), h);
  }

  private async onAcceptorHello(h: HelloMessage): Promise<void> {
    const problem = checkHello(h);
    if (problem !== undefined) return this.refuse(problem.code, problem.message, problem.retry);
    this.peer = h;
    const theirs = this.peerVectors(h);
    const known = new Map(this.replica.namespaces().map((n) => [n.name, n]));
    const ours = await this.ourVectors([...theirs.keys()].filter((ns) => known.has(ns)));
    // The acceptor's word, or our own reading of its vectors: either means we lost writes.
    const ahead = h.aheadOfYou.length > 0 ? h.aheadOfYou : aheadOfPeer(this.replica.replicaId, theirs, ours);
    if (ahead.length > 0) {
      return this.end({ reason: 'new-incarnation', code: 'incarnation', message: aheadMessage(ahead, h.replicaId), aheadOfYou: ahead, retry: false });
    }
    for (const ns of h.resync) {
      if (!known.has(ns)) continue;
      this.log.warn('sync: resync of a namespace from a snapshot', { ns, peer: h.replicaId, sessionId: this.sessionId });
      await this.replica.resetForResync?.(ns, theirs.get(ns) ?? new VersionVector());
    }
    const synced: Array<{ name: string; kind: CrdtKind; peer: VersionVector }> = [];
    for (const [ns, v] of theirs) {
      const n = known.get(ns);
      if (n === undefined) this.log.warn('sync: the peer syncs a namespace this replica does not know', { ns, peer: h.replicaId });
      else synced.push({ ...n, peer: v });
    }
    this.begin(synced, h);
  }

  /** After both HELLOs: state per namespace, the window, the codec, live pushes, catch-up. */
  private begin(synced: ReadonlyArray<{ name: string; kind: CrdtKind; peer: VersionVector }>, h: HelloMessage): void {
    if (this.ended !== undefined) return;
    this.permits = new Permits(peerWindow(h));
    this.sendCodec = chooseCodec(this.codecs, h.acceptEncodings);
    this.observeClock(h);
    for (const s of synced) {
      this.nss.set(s.name, {
        name: s.name, kind: s.kind, peerHas: new Map(s.peer.entries()), peerAcked: s.peer.clone(), loweredAt: new Map(),
        catchUpSent: false, catchUpAcked: false, caughtUpReceived: false, pumping: false, dirty: false, restart: false, pausedUntil: 0,
      });
      this.replica.peerVector?.(h.replicaId, s.name, s.peer.clone());
    }
    this.log.info('sync: session up', {
      sessionId: this.sessionId, role: this.opts.role, peer: h.replicaId, namespaces: [...this.nss.keys()], codec: this.sendCodec.name,
      window: this.permits.window, skewMs: this.stats.skewMs,
    });
    this.notify((o) => o.hello?.({ replicaId: h.replicaId, sessionId: this.sessionId, namespaces: [...this.nss.keys()], skewMs: this.stats.skewMs }));
    this.cleanups.push(this.replica.onChange((ns) => {
      if (this.nss.has(ns)) this.pump(ns);
    }));
    for (const ns of this.nss.keys()) this.pump(ns);
    this.checkCaughtUp();
  }

  // ---- sending pages

  private pump(ns: string): void {
    const st = this.nss.get(ns);
    if (st === undefined || this.ended !== undefined) return;
    if (st.pumping) {
      st.dirty = true;
      return;
    }
    st.pumping = true;
    void this.pumpLoop(st)
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        st.pumping = false;
        // A change that came after the loop's last look must not be lost.
        if (st.dirty || st.restart) this.pump(st.name);
      });
  }

  private async pumpLoop(st: NsState): Promise<void> {
    do {
      st.dirty = false;
      st.restart = false;
      const wait = st.pausedUntil - this.opts.clock.monotonicMs();
      if (wait > 0) {
        st.cancelPauseTimer?.();
        st.cancelPauseTimer = this.opts.timers.after(wait, () => this.pump(st.name));
        return;
      }
      await this.extractAndSend(st);
      if (this.ended !== undefined) return;
    } while (st.dirty || st.restart);
  }

  private async extractAndSend(st: NsState): Promise<void> {
    const catchUp = !st.catchUpSent;
    const from = VersionVector.from(st.peerHas);
    const it = this.replica.extract(st.name, from, this.budget)[Symbol.asyncIterator]();
    let sentAny = false;
    try {
      let cur = await it.next();
      while (!cur.done) {
        if (!(await this.permits.acquire())) return;
        if (this.ended !== undefined || st.restart) {
          this.permits.release();
          return;
        }
        // Whether this is the last page: the replica says so, or the next page is read first.
        let nxt: IteratorResult<ExtractedPage> | undefined;
        if (cur.value.last === undefined) {
          nxt = await it.next();
          if (this.ended !== undefined || st.restart) {
            this.permits.release();
            return;
          }
        }
        const last = cur.value.last ?? nxt!.done === true;
        await this.sendPage(st, cur.value.page, cur.value.viewIndex, catchUp && last);
        sentAny = true;
        cur = nxt ?? await it.next();
      }
    } finally {
      await it.return?.();
    }
    if (catchUp && !sentAny && !st.restart && this.ended === undefined) {
      // Nothing to send: an empty page still tells the peer this namespace is caught up.
      if (!(await this.permits.acquire())) return;
      await this.sendPage(st, { ranges: [], records: [] }, 0, true);
    }
  }

  /** Sends one page holding a permit; records what the peer will hold. */
  private async sendPage(st: NsState, page: DeltaPage, viewIndex: number, caughtUp: boolean): Promise<void> {
    let enc;
    try {
      enc = await encodePage(st.kind, page, this.sendCodec);
    } catch (e) {
      this.permits.release();
      if (e instanceof PageError) {
        return this.end({ reason: 'replica-error', code: e.code, message: `cannot send a page of ${st.name}: ${e.message}`, retry: true });
      }
      throw e;
    }
    if (this.ended !== undefined) return;
    const pageId = this.nextPageId++;
    for (const g of page.ranges) st.peerHas.set(g.origin, Math.max(st.peerHas.get(g.origin) ?? 0, g.to));
    if (caughtUp) st.catchUpSent = true;
    this.inflight.set(pageId, { ns: st.name, ranges: page.ranges, sentAt: this.opts.clock.monotonicMs(), records: page.records.length, caughtUp });
    const physicalMs = this.opts.clock.nowMs();
    if (tracing) tracePoint('sync.send', lastSeq(page));
    await this.send({
      kind: 'delta', pageId, namespace: st.name, encoding: enc.encoding, page: enc.wire, viewIndex, caughtUp,
      hlc: wireHlc(this.replica.clock.now(physicalMs)), physicalMs,
    });
    this.stats.pagesSent++;
    this.stats.pageBytesSent += enc.raw;
    this.stats.opsSent += page.records.length;
    if (caughtUp) this.stats.caughtUpSent++;
    this.notify((o) => o.pageSent?.(st.name, page.records.length, enc.wire.length, enc.raw));
  }

  /** The peer answered page `pageId` (ACK, RESEND_FROM, page SyncError): its permit is free. */
  private answered(pageId: number, what: string): InFlight | undefined {
    const f = this.inflight.get(pageId);
    if (f === undefined) {
      if (pageId >= this.nextPageId || pageId === 0) throw this.refusal('malformed', `${what} for page ${pageId}, which was never sent`);
      return undefined; // answered before (a duplicate): nothing to do
    }
    this.inflight.delete(pageId);
    this.permits.release();
    return f;
  }

  private onAck(m: AckMessage): void {
    const f = this.answered(m.pageId, 'ACK');
    if (tracing && f !== undefined) tracePoint('sync.acked', f.ranges[f.ranges.length - 1]?.to ?? 0);
    const st = this.nss.get(m.namespace);
    if (st === undefined) return;
    if (f !== undefined && f.ns !== m.namespace) throw this.refusal('malformed', `ACK of page ${m.pageId} names ${m.namespace}, the page was of ${f.ns}`);
    const v = fromWire(m.vector);
    st.peerAcked.join(v);
    for (const [o, s] of v.entries()) if (s > (st.peerHas.get(o) ?? 0)) st.peerHas.set(o, s);
    this.replica.peerVector?.(this.peer!.replicaId, st.name, st.peerAcked.clone());
    this.notify((o) => o.acked?.(st.name, v));
    if (f?.caughtUp) st.catchUpAcked = true;
    this.checkCaughtUp();
  }

  private onResend(m: ResendFromMessage): void {
    const f = this.answered(m.pageId, 'RESEND_FROM');
    this.stats.resendsReceived++;
    const st = this.nss.get(m.namespace);
    if (st === undefined || f === undefined) return;
    if (m.seq < 1) throw this.refusal('malformed', `RESEND_FROM seq ${m.seq} of ${m.origin}`);
    this.lower(st, m.origin, m.seq - 1, m.pageId);
    if (f.caughtUp) st.catchUpSent = false; // the catch-up is not over until what follows the gap is sent
    this.log.info('sync: peer asks to resend', { sessionId: this.sessionId, ns: st.name, origin: m.origin, seq: m.seq, pageId: m.pageId });
    this.pump(st.name);
  }

  /** Lowers peerHas[origin] to `seq` unless page `pageId` was sent before the last lowering (a stale answer). */
  private lower(st: NsState, origin: string, seq: number, pageId: number): void {
    if (pageId <= (st.loweredAt.get(origin) ?? 0)) return;
    st.loweredAt.set(origin, this.nextPageId - 1);
    st.peerHas.set(origin, Math.max(seq, st.peerAcked.get(origin)));
    st.restart = true;
  }

  private onError(m: ErrorMessage): void {
    if (!m.fatal && m.pageId === 0 && this.peer !== undefined) {
      // A warning about no page in particular: logged and counted, the session goes on.
      this.stats.refusedReceived++;
      this.log.warn('sync: the peer warns', { sessionId: this.sessionId, code: m.code, message: m.message });
      this.notify((o) => o.refused?.(m.code, m.message, false));
      return;
    }
    if (m.fatal || this.peer === undefined) {
      const retry = m.code !== 'unsupported-version';
      return this.end({
        reason: 'peer-error', code: m.code, message: `peer ${this.peerName()} ended the session: ${m.code}: ${m.message}`,
        ...(m.detail !== '' ? { detail: m.detail } : {}), retry,
      });
    }
    this.stats.refusedReceived++;
    this.log.warn('sync: the peer refused a page', { sessionId: this.sessionId, pageId: m.pageId, code: m.code, message: m.message });
    this.notify((o) => o.refused?.(m.code, m.message, false));
    const f = this.answered(m.pageId, 'SyncError');
    const st = f === undefined ? undefined : this.nss.get(f.ns);
    if (f === undefined || st === undefined) return;
    // Not dropped: what the page carried is offered again after a pause (the peer's clock or
    // registry may have caught up by then); every refusal is logged and counted meanwhile.
    for (const g of f.ranges) this.lower(st, g.origin, g.from - 1, m.pageId);
    if (f.caughtUp) st.catchUpSent = false;
    st.pausedUntil = this.opts.clock.monotonicMs() + this.refusedRetryMs;
    this.pump(st.name);
  }

  // ---- receiving pages

  private async onDelta(m: DeltaMessage): Promise<void> {
    if (this.receiving.length >= this.window) {
      return this.refuse('malformed', `more than ${this.window} unacknowledged DELTAs (the window this side asked for)`);
    }
    const st = this.nss.get(m.namespace);
    const t0 = tracing ? traceNow() : 0;
    const entry: Receiving = { pageId: m.pageId, startedAt: this.opts.clock.monotonicMs() };
    this.receiving.push(entry);
    this.stats.pagesReceived++;
    let result: Promise<ApplyResult | { status: 'refused-here'; code: SyncErrorCode; message: string }>;
    let rawBytes = 0;
    let page: DeltaPage | undefined;
    if (st === undefined) {
      result = Promise.resolve({ status: 'refused-here', code: 'unknown-namespace', message: `namespace ${JSON.stringify(m.namespace)} is not synced on this session` });
    } else {
      try {
        const d = await decodePage(m.namespace, st.kind, m.encoding, m.page, this.codecs);
        page = d.page;
        rawBytes = d.raw;
      } catch (e) {
        if (e instanceof PageError) return this.refuse(e.code, e.message);
        throw e;
      }
      if (this.ended !== undefined) return;
      if (tracing) tracePoint('sync.recv', lastSeq(page), t0);
      // The peer holds these ranges (it sent them): never send them back.
      for (const g of page.ranges) st.peerHas.set(g.origin, Math.max(st.peerHas.get(g.origin) ?? 0, g.to));
      const skew = this.pageSkew(m.namespace, page);
      result = skew !== undefined
        ? Promise.resolve({ status: 'refused-here', code: 'clock-skew', message: skew })
        : this.apply(m.namespace, page);
    }
    const p = page;
    this.answerChain = this.answerChain.then(async () => {
      const r = await result;
      if (this.ended !== undefined) return;
      this.receiving.shift();
      await this.answer(m, st, p, r, rawBytes);
    }).catch((e: unknown) => this.fail(e));
  }

  /** A reason to refuse the page for clock skew, or undefined. */
  private pageSkew(ns: string, page: DeltaPage): string | undefined {
    const now = Math.floor(this.opts.clock.nowMs());
    const clock = this.replica.clock;
    const max = clock.maxSkewMsOf?.(ns) ?? clock.maxSkewMs;
    for (const r of page.records) {
      const skew = r.hlc.wall - now;
      if (skew > max) {
        return `record ${r.origin}:${r.seq} is stamped ${skew} ms ahead of this replica's clock (max_clock_skew_ms of ${JSON.stringify(ns)} is ${max}); fix the clock of ${this.peerName()}`;
      }
    }
    return undefined;
  }

  private async apply(ns: string, page: DeltaPage): Promise<ApplyResult> {
    try {
      return await this.replica.applyPage(ns, page, this.opts.clock.nowMs());
    } catch (e) {
      if (e instanceof DeltaGapError) return { status: 'resend', origin: e.origin, seq: e.held + 1 };
      if (e instanceof ClockSkewError) return { status: 'refused', code: 'clock-skew', message: e.message, fatal: false };
      if (e instanceof MalformedDeltaError) return { status: 'refused', code: 'malformed', message: e.message, fatal: true };
      throw e;
    }
  }

  private async answer(
    m: DeltaMessage, st: NsState | undefined, page: DeltaPage | undefined,
    r: ApplyResult | { status: 'refused-here'; code: SyncErrorCode; message: string }, rawBytes: number,
  ): Promise<void> {
    if (r.status === 'applied' && st !== undefined && page !== undefined) {
      this.stats.opsApplied += r.applied;
      // The peer's own writes it sent are held by it for good (were they lost, its next HELLO
      // would be behind us and it would take a new incarnation): they count as acknowledged.
      const own = page.ranges.find((g) => g.origin === this.peer!.replicaId);
      if (own !== undefined && own.to > st.peerAcked.get(own.origin)) {
        st.peerAcked.advance(own.origin, own.to);
        this.replica.peerVector?.(this.peer!.replicaId, st.name, st.peerAcked.clone());
      }
      this.stats.pageBytesReceived += rawBytes;
      const vector = page.ranges.map((g) => ({ origin: g.origin, seq: r.vector.get(g.origin) }));
      if (tracing) tracePoint('sync.ack', lastSeq(page));
      await this.send({ kind: 'ack', pageId: m.pageId, namespace: m.namespace, vector });
      this.notify((o) => o.pageApplied?.(m.namespace, r.applied, m.page.length, rawBytes));
      if (m.caughtUp && !st.caughtUpReceived) {
        st.caughtUpReceived = true;
        this.stats.caughtUpReceived++;
        this.notify((o) => o.caughtUp?.(m.namespace, 'received'));
        this.checkCaughtUp();
      }
      return;
    }
    if (r.status === 'resend') {
      this.stats.resendsSent++;
      return this.send({ kind: 'resend-from', pageId: m.pageId, namespace: m.namespace, origin: r.origin, seq: r.seq });
    }
    if (r.status === 'refused' && r.fatal) return this.refuse(r.code, r.message, true, r.detail);
    const code = r.status === 'applied' ? 'internal' : r.code;
    const message = r.status === 'applied' ? 'page applied without a namespace' : r.message;
    this.stats.refusedSent++;
    if (code === 'clock-skew') this.stats.skewRefusals++;
    this.log.warn('sync: refused a page', { sessionId: this.sessionId, peer: this.peerName(), ns: m.namespace, pageId: m.pageId, code, message });
    this.notify((o) => o.refused?.(code, message, true));
    await this.send({ kind: 'error', code, message, pageId: m.pageId, fatal: false, detail: r.status === 'refused' ? r.detail ?? '' : '' });
  }

  // ---- clocks, timers, deadlines

  /** Skew of the peer's physical clock, and its HLC merged into ours when inside the bound. */
  private observeClock(m: { hlc: WireHlc; physicalMs: number } | undefined): void {
    if (m === undefined) return;
    const now = this.opts.clock.nowMs();
    if (m.physicalMs > 0) {
      this.stats.skewMs = m.physicalMs - Math.floor(now);
      this.stats.maxAbsSkewMs = Math.max(this.stats.maxAbsSkewMs, Math.abs(this.stats.skewMs));
    }
    if (m.hlc.wallMs === 0) return;
    const remote: Hlc = { wall: m.hlc.wallMs, logical: m.hlc.logical };
    if (remote.wall - Math.floor(now) > this.replica.clock.maxSkewMs) {
      // Not merged (it would drag our clock ahead); pages stamped so are refused one by one.
      this.stats.skewRefusals++;
      this.log.warn('sync: peer clock ahead past max_clock_skew_ms; its stamp is not merged', {
        sessionId: this.sessionId, peer: this.peerName(), skewMs: remote.wall - Math.floor(now), maxSkewMs: this.replica.clock.maxSkewMs,
      });
      return;
    }
    this.replica.clock.update(remote, now, this.peerName());
  }

  private tickMs(): number {
    return Math.max(1, Math.floor(Math.min(this.heartbeatMs, this.peerSilenceMs, this.helloDeadlineMs, this.ackDeadlineMs) / 4));
  }

  private tick(): void {
    if (this.ended !== undefined) return;
    const cancel = this.opts.timers.after(this.tickMs(), () => {
      this.cleanups.splice(this.cleanups.indexOf(cancel) >>> 0, 1);
      this.onTick();
      this.tick();
    });
    this.cleanups.push(cancel);
  }

  private onTick(): void {
    if (this.ended !== undefined) return;
    const now = this.opts.clock.monotonicMs();
    if (this.peer === undefined && now - this.stats.startedMs > this.helloDeadlineMs) {
      return this.deadline(`no HELLO from the peer within ${this.helloDeadlineMs} ms`);
    }
    if (now - this.stats.lastReceivedMs > this.peerSilenceMs) {
      return this.deadline(`peer ${this.peerName()} sent nothing for ${now - this.stats.lastReceivedMs} ms (deadline ${this.peerSilenceMs} ms): the link or the peer is down`);
    }
    const age = this.oldestInFlightAge();
    if (age > this.ackDeadlineMs) {
      return this.deadline(`peer ${this.peerName()} has not answered a DELTA sent ${age} ms ago (deadline ${this.ackDeadlineMs} ms)`);
    }
    const applying = this.receiving[0];
    if (applying !== undefined && now - applying.startedAt > this.ackDeadlineMs) {
      return this.deadline(`applying page ${applying.pageId} on this replica took more than ${this.ackDeadlineMs} ms`);
    }
    this.stats.lagMs = age;
    // stats.lagOps stays fresh for metrics without a caller asking (vectors are in memory on both sides).
    if (this.peer !== undefined) void this.lag().catch(() => undefined);
    if (this.peer !== undefined && now - this.lastSentMs >= this.heartbeatMs) {
      const physicalMs = this.opts.clock.nowMs();
      void this.send({ kind: 'heartbeat', hlc: wireHlc(this.replica.clock.now(physicalMs)), physicalMs }).catch(() => undefined);
    }
  }

  private oldestInFlightAge(): number {
    const first = this.inflight.values().next();
    return first.done === true ? 0 : this.opts.clock.monotonicMs() - first.value.sentAt;
  }

  private deadline(message: string): void {
    this.sendFatal('deadline', message);
    this.end({ reason: 'deadline', code: 'deadline', message, retry: true });
  }

  // ---- sending, ending

  private async send(m: SyncMessage): Promise<void> {
    if (this.ended !== undefined) throw new EndSignal();
    const bytes = encodeSyncMessage(m);
    this.stats.bytesSent += bytes.length;
    this.lastSentMs = this.opts.clock.monotonicMs();
    try {
      await this.opts.channel.send(bytes);
    } catch (e) {
      if (this.ended === undefined) this.end({ reason: 'stream-error', code: 'internal', message: `sending failed: ${(e as Error).message}`, retry: true });
      throw new EndSignal();
    }
  }

  /** Best effort: the fatal SyncError goes out before the stream closes (the channel keeps order). */
  private sendFatal(code: string, message: string, detail = ''): void {
    if (this.ended !== undefined) return;
    const bytes = encodeSyncMessage({ kind: 'error', code, message, pageId: 0, fatal: true, detail });
    this.stats.bytesSent += bytes.length;
    this.opts.channel.send(bytes).catch(() => undefined);
  }

  private refusal(code: SyncErrorCode, message: string): EndSignal {
    this.refuse(code, message);
    return new EndSignal();
  }

  /** This side refuses the peer: a fatal SyncError, then the end. */
  private refuse(code: SyncErrorCode, message: string, retry = code !== 'unsupported-version', detail?: string): void {
    if (this.ended !== undefined) return;
    this.log.warn('sync: ending the session', { sessionId: this.sessionId, peer: this.peerName(), code, message });
    // Observers count refusals here (a fatal one ends the session as protocol-error, which
    // the region's failure count leaves out so that nothing is counted twice).
    this.notify((o) => o.refused?.(code, message, true));
    this.sendFatal(code, message, detail);
    this.end({ reason: 'protocol-error', code, message, ...(detail !== undefined ? { detail } : {}), retry });
  }

  private fail(e: unknown): void {
    if (e instanceof EndSignal || this.ended !== undefined) return;
    const message = `this replica failed: ${(e as Error)?.message ?? String(e)}`;
    this.log.error('sync: session failed', { sessionId: this.sessionId, peer: this.peerName(), err: (e as Error)?.stack ?? String(e) });
    this.sendFatal('internal', message);
    this.end({ reason: 'replica-error', code: 'internal', message, retry: true });
  }

  private end(o: SyncOutcome): void {
    if (this.ended !== undefined) return;
    this.ended = o;
    for (const c of this.cleanups.splice(0)) c();
    for (const st of this.nss.values()) st.cancelPauseTimer?.();
    this.permits.close();
    for (const w of this.caughtUpWaiters.splice(0)) w(false);
    this.opts.channel.close();
    const level = o.reason === 'closed' || o.reason === 'peer-closed' ? 'info' : 'warn';
    this.log[level]('sync: session ended', { sessionId: this.sessionId, peer: this.peerName(), reason: o.reason, code: o.code, message: o.message });
    this.notify((x) => x.ended?.(o));
    this.resolveEnd(o);
  }

  private isCaughtUp(): boolean {
    if (this.peer === undefined || this.ended !== undefined) return false;
    for (const st of this.nss.values()) if (!(st.catchUpAcked && st.caughtUpReceived)) return false;
    return true;
  }

  private checkCaughtUp(): void {
    if (this.caughtUpWaiters.length > 0 && this.isCaughtUp()) for (const w of this.caughtUpWaiters.splice(0)) w(true);
  }

  private notify(f: (o: NonNullable<SyncSessionOptions['observer']>) => void): void {
    const o = this.opts.observer;
    if (o === undefined) return;
    try {
      f(o);
    } catch (e) {
      this.log.warn('sync: an observer threw', { err: (e as Error)?.message });
    }
  }

  private peerName(): string {
    return this.peer?.replicaId ?? '(peer before HELLO)';
  }
}

export type { SyncEndReason };

/** A page's trace key (server/util/trace-points.ts): the last seq of its last range. */
function lastSeq(page: DeltaPage): number {
  return page.ranges[page.ranges.length - 1]?.to ?? 0;
}

function wireHlc(t: Hlc): WireHlc {
  return { wallMs: t.wall, logical: t.logical };
}
