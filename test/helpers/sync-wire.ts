// A test-side SyncMessage codec by reflection over proto/regionstore/v1/sync.proto
// (protobufjs), independent of proto/sync-codec.ts (hand-written): tests that speak to the
// region through it also check that the two agree on the wire.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, brotliDecompressSync, deflateSync, inflateSync, constants as zc } from 'node:zlib';
import protobuf from 'protobufjs';
import { decodeDeltaPage, encodeDeltaPage } from '../../proto/crdt-codec.js';
import type { CrdtKind, CrdtRecord, DeltaPage, Hlc } from '../../server/crdt/index.js';
const SYNC_PAGE_DECODED_BYTES_MAX = 4 * 1024 * 1024;

export const SYNC_PROTOCOL_VERSION = 1;

export interface WireVectorEntry { origin: string; seq: number }
export interface WireNamespaceVector { namespace: string; vector: WireVectorEntry[] }
export interface WireHlc { wallMs: number; logical: number }

export interface HelloMsg {
  protocolVersion: number;
  replicaId: string;
  deviceId: string;
  incarnation: number;
  vectors: WireNamespaceVector[];
  hlc?: WireHlc | null;
  physicalMs: number;
  acceptEncodings: string[];
  window: number;
  sessionId: string;
  registryRevision: number;
  aheadOfYou: WireVectorEntry[];
  resync: string[];
}
export interface DeltaMsg {
  pageId: number; namespace: string; encoding: string; page: Uint8Array; viewIndex: number; caughtUp: boolean;
  hlc?: WireHlc | null; physicalMs: number;
}
export interface AckMsg { pageId: number; namespace: string; vector: WireVectorEntry[] }
export interface ResendFromMsg { pageId: number; namespace: string; origin: string; seq: number }
export interface HeartbeatMsg { hlc?: WireHlc | null; physicalMs: number }
export interface SyncErrorMsg { code: string; message: string; pageId: number; fatal: boolean; detail: string }

export type SyncMsg =
  | { hello: HelloMsg } | { delta: DeltaMsg } | { ack: AckMsg } | { resendFrom: ResendFromMsg }
  | { heartbeat: HeartbeatMsg } | { error: SyncErrorMsg };

let cached: protobuf.Type | undefined;

function syncMessageType(): protobuf.Type {
  if (cached !== undefined) return cached;
  for (const rel of ['../../proto']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(join(dir, 'regionstore/v1/sync.proto'))) continue;
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(dir, target);
    root.loadSync('regionstore/v1/sync.proto');
    cached = root.lookupType('regionstore.v1.SyncMessage');
    return cached;
  }
  throw new Error('proto/regionstore/v1/sync.proto not found');
}

export function encodeSyncMessage(m: SyncMsg): Uint8Array {
  const t = syncMessageType();
  return t.encode(t.fromObject(m as Record<string, unknown>)).finish();
}

/** Throws on bytes that are not a SyncMessage (the caller answers "malformed"). */
export function decodeSyncMessage(bytes: Uint8Array): SyncMsg {
  const t = syncMessageType();
  const o = t.toObject(t.decode(bytes), { longs: Number, defaults: true, oneofs: true, arrays: true }) as Record<string, unknown> & { msg?: string };
  if (o.msg === undefined) throw new Error('a SyncMessage with none of its fields set');
  return { [o.msg]: o[o.msg] } as SyncMsg;
}

// ---- DELTA pages: crdt.proto's DeltaPage, compressed

/** The codings this side reads, preferred first (brotli: the smaller pages on small records). */
export const ACCEPT_ENCODINGS = ['br', 'deflate', 'identity'];

export function compress(encoding: string, bytes: Uint8Array): Uint8Array {
  switch (encoding) {
    case 'br': return brotliCompressSync(bytes, { params: { [zc.BROTLI_PARAM_QUALITY]: 5, [zc.BROTLI_PARAM_SIZE_HINT]: bytes.length } });
    case 'deflate': return deflateSync(bytes);
    case 'identity': return bytes;
    default: throw new Error(`unknown encoding ${JSON.stringify(encoding)}`);
  }
}

export function decompress(encoding: string, bytes: Uint8Array): Uint8Array {
  const opts = { maxOutputLength: SYNC_PAGE_DECODED_BYTES_MAX };
  switch (encoding) {
    case 'br': return brotliDecompressSync(bytes, opts);
    case 'deflate': return inflateSync(bytes, opts);
    case 'identity': case '': return bytes;
    default: throw new Error(`unknown encoding ${JSON.stringify(encoding)}: this side reads ${ACCEPT_ENCODINGS.join(', ')}`);
  }
}

/** The first of the peer's accepted encodings this side writes. */
export function chooseEncoding(peerAccepts: string[]): string {
  for (const e of peerAccepts) if (ACCEPT_ENCODINGS.includes(e)) return e;
  return 'identity';
}

export function encodePage(kind: CrdtKind, page: DeltaPage, encoding: string): Uint8Array {
  return compress(encoding, encodeDeltaPage(kind, page));
}

export function decodePage(encoding: string, bytes: Uint8Array): { kind: CrdtKind; page: DeltaPage } {
  return decodeDeltaPage(decompress(encoding, bytes));
}

export function toWireHlc(h: Hlc): WireHlc {
  return { wallMs: h.wall, logical: h.logical };
}

export function fromWireHlc(h: WireHlc | null | undefined): Hlc | undefined {
  return h == null ? undefined : { wall: h.wallMs, logical: h.logical };
}

export function vectorToWire(v: Record<string, number> | Map<string, number>): WireVectorEntry[] {
  const entries = v instanceof Map ? [...v] : Object.entries(v);
  return entries.filter(([, s]) => s > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([origin, seq]) => ({ origin, seq }));
}

export function vectorFromWire(v: WireVectorEntry[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of v) if (e.seq > 0) out.set(e.origin, Math.max(out.get(e.origin) ?? 0, e.seq));
  return out;
}

export type { CrdtRecord };
