// One edge session on the region's side (issue 14): the region role of the delta protocol
// of sync.proto over one EdgeSync stream. HELLO both ways (the region's carries its vectors,
// its HLC and clock, ahead_of_you and resync); then the catch-up download per namespace from
// the edge's vectors (never a full replay), then live pushes as the region applies writes;
// uploads applied one page at a time through Raft and ACKed only once applied; RESEND_FROM
// for a gap; HEARTBEAT when quiet; SyncError for every refusal. This is the region's own
// state machine until server/sync's SyncSession is merged (then this file shrinks to the
// ReplicaSide in replica-side.ts and the host's glue).

import type { DeltaPage } from '../../crdt/index.js';
import {
  ACCEPT_ENCODINGS, SYNC_PROTOCOL_VERSION, chooseEncoding, decodePage, decodeSyncMessage, encodePage, encodeSyncMessage,
  toWireHlc, vectorFromWire, vectorToWire, type AckMsg, type DeltaMsg, type HelloMsg, type SyncMsg,
} from './codec.js';
import {
  SYNC_DOWNLOAD_PAGE_BYTES, SYNC_HEARTBEAT_MS, SYNC_HELLO_DEADLINE_MS, SYNC_HELLO_NAMESPACES_MAX, SYNC_MESSAGE_BYTES_MAX,
  SYNC_PEER_SILENCE_MS, SYNC_VECTOR_ORIGINS_MAX, SYNC_WINDOW_DEFAULT, SYNC_WINDOW_MAX,
} from './limits.js';
import type { RegionReplicaSide } from './replica-side.js';

/** What the session needs of the stream (server/api's EdgeSyncStream, structurally). */
export interface SessionStream {
  send(bytes: Uint8Array): void;
  end(): void;
  onMessage(fn: (bytes: Uint8Array) => void): void;
  onClose(fn: (reason: string) => void): void;
  readonly peer: string;
}

/** The host's side: leadership, known edges, metrics. */
export interface SessionHost {
  /** undefined: this member may host sessions; else the not-leader detail (leader client URL). */
  notLeader(): string | undefined;
  /** Namespaces the edge was silent on past tombstone_ttl (it must resync them). */
  resyncNamespaces(replicaId: string, namespaces: string[]): string[];
  /** The acknowledged vector of the edge the known-edge table holds for `ns`. */
  knownAcked(replicaId: string, ns: string): ReadonlyMap<string, number> | undefined;
  opened(s: EdgeSession): void;
  closed(s: EdgeSession, reason: string): void;
  /** Something to record in the known-edge table (the host rate-limits). */
  changed(s: EdgeSession): void;
  metric(e: { kind: 'bytes' | 'ops'; direction: 'in' | 'out'; n: number } | { kind: 'failure'; source: string; target: string; reason: string } | { kind: 'full-replay' } | { kind: 'resync' }): void;
  log(msg: string, fields: Record<string, unknown>): void;
}

interface NsState {
  /** What the edge holds as far as this session knows (its HELLO, then its ACKs and what we sent). */
  sent: Map<string, number>;
  acked: Map<string, number>;
  caughtUp: boolean;
  dirty: boolean;
}

const REPLICA_ID_RE = /^edge:([^:]+):(\d+)$/;

export class EdgeSession {
  replicaId = '';
  device = '';
  incarnation = 0;
  sessionId = '';
  readonly startedMs = Date.now();
  lastSeenMs = Date.now();
  skewMs = 0;
  bytesIn = 0;
  bytesOut = 0;
  opsIn = 0;
  opsOut = 0;
  /** Figures already written to the known-edge table (the next entry carries the rest). */
  recorded = { bytesIn: 0, bytesOut: 0, opsIn: 0, opsOut: 0 };
  readonly ns = new Map<string, NsState>();
  private encoding = 'identity';
  private window = SYNC_WINDOW_DEFAULT;
  private nextPageId = 1;
  /** DELTAs sent and not yet ACKed: page id → send time. */
  private readonly unacked = new Map<number, number>();
  private windowWaiters: Array<() => void> = [];
  private uploads: Promise<void> = Promise.resolve();
  private closed = false;
  private pumping = false;
  private timers: NodeJS.Timeout[] = [];
  private lastSentMs = Date.now();
  private helloTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly stream: SessionStream, private readonly side: RegionReplicaSide, private readonly host: SessionHost) {
    stream.onMessage((b) => this.onBytes(b));
    stream.onClose((reason) => this.finish(reason));
    this.helloTimer = setTimeout(() => this.fail('deadline', `no HELLO within ${SYNC_HELLO_DEADLINE_MS} ms`, true), SYNC_HELLO_DEADLINE_MS);
  }

  get open(): boolean {
    return !this.closed;
  }

  /** The age (s) of the oldest unacknowledged DELTA: how far behind the edge is. */
  lagSeconds(now = Date.now()): number {
    let oldest = now;
    for (const t of this.unacked.values()) oldest = Math.min(oldest, t);
    return (now - oldest) / 1000;
  }

  // ---- sending

  private send(m: SyncMsg): void {
    if (this.closed) return;
    const bytes = encodeSyncMessage(m);
    this.bytesOut += bytes.length;
    this.host.metric({ kind: 'bytes', direction: 'out', n: bytes.length });
    this.lastSentMs = Date.now();
    this.stream.send(bytes);
  }

  private error(code: string, message: string, fatal: boolean, pageId = 0, detail = ''): void {
    this.send({ error: { code, message, pageId, fatal, detail } });
    if (code !== 'not-leader') this.host.metric({ kind: 'failure', source: 'edge', target: 'region', reason: code });
    this.host.log('edge session refusal', { replica: this.replicaId || this.stream.peer, code, message, fatal, session: this.sessionId });
  }

  private fail(code: string, message: string, fatal: boolean, pageId = 0): void {
    this.error(code, message, fatal, pageId);
    if (fatal) this.endStream(`${code}: ${message}`);
  }

  private endStream(reason: string): void {
    if (this.closed) return;
    this.stream.end();
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    for (const w of this.windowWaiters) w();
    this.windowWaiters = [];
    if (this.replicaId !== '') this.host.closed(this, reason);
  }

  /**
   * Leadership moved: ends the session with not-leader once every upload in flight has been
   * applied and ACKed (an ACK is only ever sent for an applied page, so nothing ACKed is lost).
   */
  async handOver(detail: string): Promise<void> {
    const uploads = this.uploads;
    await uploads.catch(() => undefined);
    if (this.closed) return;
    this.error('not-leader', 'this member is no longer the region leader: reconnect to the leader', true, 0, detail);
    this.endStream('leadership moved');
  }

  // ---- receiving

  private onBytes(bytes: Uint8Array): void {
    if (this.closed) return;
    this.lastSeenMs = Date.now();
    this.bytesIn += bytes.length;
    this.host.metric({ kind: 'bytes', direction: 'in', n: bytes.length });
    if (bytes.length > SYNC_MESSAGE_BYTES_MAX) return this.fail('page-too-large', `a message of ${bytes.length} bytes (at most ${SYNC_MESSAGE_BYTES_MAX})`, true);
    let m: SyncMsg;
    try {
      m = decodeSyncMessage(bytes);
    } catch (e) {
      return this.fail('malformed', `not a SyncMessage: ${(e as Error).message}`, true);
    }
    try {
      if ('hello' in m) this.onHello(m.hello);
      else if (this.replicaId === '') this.fail('malformed', 'the first message must be a HELLO', true);
      else if ('delta' in m) this.onDelta(m.delta);
      else if ('ack' in m) this.onAck(m.ack);
      else if ('heartbeat' in m) this.measureSkew(m.heartbeat.physicalMs);
      else if ('error' in m) {
        this.host.log('edge reported an error', { replica: this.replicaId, ...m.error });
        this.host.metric({ kind: 'failure', source: 'region', target: 'edge', reason: m.error.code || 'unknown' });
        if (m.error.fatal) this.endStream(`the edge ended the session: ${m.error.code}`);
      } else if ('resendFrom' in m) this.onResendFrom(m.resendFrom.namespace, m.resendFrom.origin, m.resendFrom.seq);
    } catch (e) {
      this.fail('internal', (e as Error).message, true);
    }
  }

  private measureSkew(physicalMs: number): void {
    if (physicalMs > 0) {
      this.skewMs = physicalMs - Date.now();
      this.host.changed(this);
    }
  }

  private onHello(h: HelloMsg): void {
    if (this.replicaId !== '') return this.fail('malformed', 'a second HELLO in one session', true);
    clearTimeout(this.helloTimer);
    if (h.protocolVersion !== SYNC_PROTOCOL_VERSION) {
      return this.fail('unsupported-version', `protocol version ${h.protocolVersion}: this region speaks ${SYNC_PROTOCOL_VERSION}`, true);
    }
    const id = REPLICA_ID_RE.exec(h.replicaId);
    if (id === null || id[1] !== h.deviceId || Number(id[2]) !== h.incarnation || h.deviceId.includes(String.fromCharCode(0))) {
      return this.fail('malformed', `replica id ${JSON.stringify(h.replicaId)} is not edge:<device_id>:<incarnation> of the HELLO's device ${JSON.stringify(h.deviceId)} and incarnation ${h.incarnation}`, true);
    }
    const notLeader = this.host.notLeader();
    if (notLeader !== undefined) {
      this.send({ error: { code: 'not-leader', message: 'this member is not the region leader: connect to the leader', pageId: 0, fatal: true, detail: notLeader } });
      this.endStream('not the leader');
      return;
    }
    if (h.vectors.length > SYNC_HELLO_NAMESPACES_MAX) return this.fail('malformed', `a HELLO naming ${h.vectors.length} namespaces (at most ${SYNC_HELLO_NAMESPACES_MAX})`, true);
    this.replicaId = h.replicaId;
    this.device = h.deviceId;
    this.incarnation = h.incarnation;
    this.sessionId = h.sessionId;
    this.encoding = chooseEncoding(h.acceptEncodings);
    this.window = h.window > 0 ? Math.min(h.window, SYNC_WINDOW_MAX) : SYNC_WINDOW_DEFAULT;
    this.measureSkew(h.physicalMs);
    const asked = new Map(h.vectors.map((v) => [v.namespace, v]));
    const names = asked.size > 0 ? [...asked.keys()] : this.side.eventualNamespaces().map((d) => d.name);
    const served: string[] = [];
    for (const ns of names) {
      if (this.side.definition(ns) === undefined) {
        this.error('unknown-namespace', `namespace ${JSON.stringify(ns)} is not an eventual namespace of this region: list them with rsctl ns list`, false);
        continue;
      }
      served.push(ns);
    }
    const resync = new Set(this.host.resyncNamespaces(this.replicaId, served));
    const ahead: Array<{ origin: string; seq: number }> = [];
    for (const ns of served) {
      const wire = asked.get(ns)?.vector ?? [];
      if (wire.length > SYNC_VECTOR_ORIGINS_MAX) return this.fail('malformed', `a vector of ${wire.length} origins (at most ${SYNC_VECTOR_ORIGINS_MAX})`, true);
      const peer = vectorFromWire(wire);
      const mine = this.side.vector(ns);
      const ownHeld = mine.get(this.replicaId) ?? 0;
      if (ownHeld > (peer.get(this.replicaId) ?? 0)) ahead.push({ origin: this.replicaId, seq: ownHeld });
      const known = this.host.knownAcked(this.replicaId, ns);
      if (peer.size === 0 && known !== undefined && [...known.values()].some((s) => s > 0) && !resync.has(ns)) this.host.metric({ kind: 'full-replay' });
      if (resync.has(ns)) this.host.metric({ kind: 'resync' });
      const start = resync.has(ns) ? new Map<string, number>() : peer;
      this.ns.set(ns, { sent: new Map(start), acked: new Map(peer), caughtUp: false, dirty: true });
    }
    this.send({
      hello: {
        protocolVersion: SYNC_PROTOCOL_VERSION, replicaId: this.side.replicaId, deviceId: '', incarnation: 0,
        vectors: served.map((ns) => ({ namespace: ns, vector: vectorToWire(this.side.vector(ns)) })),
        hlc: toWireHlc(this.side.hlc), physicalMs: Date.now(), acceptEncodings: ACCEPT_ENCODINGS, window: SYNC_WINDOW_DEFAULT,
        sessionId: this.sessionId, registryRevision: 0, aheadOfYou: dedupe(ahead), resync: [...resync],
      },
    });
    this.host.opened(this);
    this.unsubscribe = this.side.onChange((ns) => {
      const st = this.ns.get(ns);
      if (st === undefined) return;
      st.dirty = true;
      this.pump();
    });
    this.timers.push(setInterval(() => this.tick(), Math.min(SYNC_HEARTBEAT_MS, 1000)));
    this.pump();
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastSeenMs > SYNC_PEER_SILENCE_MS) {
      this.host.metric({ kind: 'failure', source: 'edge', target: 'region', reason: 'deadline' });
      this.endStream(`the edge was silent for ${SYNC_PEER_SILENCE_MS} ms`);
      return;
    }
    if (now - this.lastSentMs >= SYNC_HEARTBEAT_MS) this.send({ heartbeat: { hlc: toWireHlc(this.side.hlc), physicalMs: now } });
  }

  private onAck(a: AckMsg): void {
    const t = this.unacked.get(a.pageId);
    if (t !== undefined) {
      this.unacked.delete(a.pageId);
      const w = this.windowWaiters.shift();
      w?.();
    }
    const st = this.ns.get(a.namespace);
    if (st === undefined) return;
    for (const [o, s] of vectorFromWire(a.vector)) {
      st.acked.set(o, Math.max(st.acked.get(o) ?? 0, s));
      st.sent.set(o, Math.max(st.sent.get(o) ?? 0, s));
    }
    this.host.changed(this);
  }

  private onResendFrom(ns: string, origin: string, seq: number): void {
    const st = this.ns.get(ns);
    if (st === undefined) return;
    // The edge lacks seqs from `seq`: send that origin again from there.
    st.sent.set(origin, Math.max(0, seq - 1));
    st.dirty = true;
    this.pump();
  }

  private onDelta(d: DeltaMsg): void {
    const st = this.ns.get(d.namespace);
    if (st === undefined) {
      this.error('unknown-namespace', `namespace ${JSON.stringify(d.namespace)} is not synced in this session`, false, d.pageId);
      return;
    }
    this.measureSkew(d.physicalMs);
    let page: DeltaPage;
    try {
      const decoded = decodePage(d.encoding, d.page);
      const def = this.side.definition(d.namespace);
      if (def !== undefined && decoded.kind !== def.crdtType) {
        this.error('malformed', `a ${decoded.kind} page for namespace ${JSON.stringify(d.namespace)} of type ${def.crdtType}`, false, d.pageId);
        return;
      }
      page = decoded.page;
    } catch (e) {
      const tooLarge = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;
      this.error(tooLarge ? 'page-too-large' : 'malformed', `page ${d.pageId}: ${(e as Error).message}`, false, d.pageId);
      return;
    }
    // Until relay permission exists (auth), an edge uploads only its own origin.
    const forged = page.ranges.find((g) => g.origin !== this.replicaId) ?? page.records.find((r) => r.origin !== this.replicaId);
    if (forged !== undefined) {
      this.error('forged-origin', `page ${d.pageId} carries origin ${JSON.stringify(forged.origin)}: an edge uploads only its own (${this.replicaId}); nothing of the page was applied`, false, d.pageId);
      return;
    }
    // The edge holds what it sends: never push its own records back to it.
    for (const g of page.ranges) st.sent.set(g.origin, Math.max(st.sent.get(g.origin) ?? 0, g.to));
    const physicalMs = Date.now();
    this.uploads = this.uploads.then(async () => {
      if (this.closed) return;
      const out = await this.side.applyPage(d.namespace, page, physicalMs);
      if (out.kind === 'applied') {
        this.opsIn += out.applied;
        this.host.metric({ kind: 'ops', direction: 'in', n: out.applied });
        const own = out.vector.get(this.replicaId) ?? 0;
        this.send({ ack: { pageId: d.pageId, namespace: d.namespace, vector: vectorToWire(new Map([[this.replicaId, own]])) } });
      } else if (out.kind === 'resend') {
        this.send({ resendFrom: { pageId: d.pageId, namespace: d.namespace, origin: out.origin, seq: out.seq } });
      } else {
        this.error(out.code, out.message, false, d.pageId);
      }
    }).catch((e: unknown) => {
      // A proposal that failed (leader change, timeout): not applied as far as we know, so not
      // ACKed; the edge resends it after reconnecting (a duplicate is ignored).
      this.error('internal', `page ${d.pageId} not applied: ${(e as Error).message}`, true, d.pageId);
      this.endStream('an upload failed');
    });
  }

  // ---- downloads

  private async waitWindow(): Promise<void> {
    while (!this.closed && this.unacked.size >= this.window) await new Promise<void>((r) => this.windowWaiters.push(r));
  }

  /** Sends what each dirty namespace lacks, one namespace at a time, inside the window. */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    void (async () => {
      try {
        for (;;) {
          const next = [...this.ns.entries()].find(([, st]) => st.dirty);
          if (next === undefined || this.closed) return;
          const [ns, st] = next;
          st.dirty = false;
          await this.download(ns, st);
        }
      } catch (e) {
        this.fail('internal', `download failed: ${(e as Error).message}`, true);
      } finally {
        this.pumping = false;
        if (!this.closed && [...this.ns.values()].some((s) => s.dirty)) this.pump();
      }
    })();
  }

  private async download(ns: string, st: NsState): Promise<void> {
    const def = this.side.definition(ns);
    if (def === undefined) return;
    const view = await this.side.extract(ns, st.sent, SYNC_DOWNLOAD_PAGE_BYTES);
    const it = view.pages();
    let cur = await it.next();
    if (cur.done === true && st.caughtUp) return;
    while (!this.closed) {
      const page = cur.done === true ? { ranges: [], records: [] } : cur.value;
      const nextP = cur.done === true ? undefined : await it.next();
      const last = nextP === undefined || nextP.done === true;
      await this.waitWindow();
      if (this.closed) break;
      const pageId = this.nextPageId++;
      this.unacked.set(pageId, Date.now());
      const caughtUp = last && !st.caughtUp;
      this.send({
        delta: {
          pageId, namespace: ns, encoding: this.encoding, page: encodePage(def.crdtType as never, page, this.encoding),
          viewIndex: view.viewIndex, caughtUp, hlc: toWireHlc(this.side.hlc), physicalMs: Date.now(),
        },
      });
      this.opsOut += page.records.length;
      this.host.metric({ kind: 'ops', direction: 'out', n: page.records.length });
      for (const g of page.ranges) st.sent.set(g.origin, Math.max(st.sent.get(g.origin) ?? 0, g.to));
      if (caughtUp) st.caughtUp = true;
      if (last) break;
      cur = nextP!;
    }
    await it.return(undefined);
    this.host.changed(this);
  }
}

function dedupe(v: Array<{ origin: string; seq: number }>): Array<{ origin: string; seq: number }> {
  const m = new Map<string, number>();
  for (const e of v) m.set(e.origin, Math.max(m.get(e.origin) ?? 0, e.seq));
  return [...m].map(([origin, seq]) => ({ origin, seq }));
}
