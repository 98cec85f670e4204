// The change-feed projection (issue 13): what an etcd client reads through Range and Watch
// for each type. lww: the value as stored (a tombstone deletes the key); mv: the canonical
// JSON array of the sibling values (dot order); counter: the JSON number; set: the canonical
// JSON array of the members (byte order), the key deleted when no member is left; events:
// one etcd key per event, `<prefix><device>/<seq as 20 decimal digits>`, its value the
// canonical JSON object {"device","seq","ts","type","schema_version","payload"}. Bytes
// render as server/crdt/bytes.ts renderBytes does.

import { canonicalJson, renderBytes, type EventRecord, type MvRecord } from '../crdt/index.js';
import { PairCache } from './pair-cache.js';

const utf8 = new TextEncoder();
const SEQ_DIGITS = 20;

export function mvValue(siblings: readonly MvRecord[]): Uint8Array {
  return utf8.encode(canonicalJson(siblings.map((s) => renderBytes(s.value))));
}

export function counterValueBytes(v: number): Uint8Array {
  return utf8.encode(canonicalJson(v));
}

export function setValue(members: readonly Uint8Array[]): Uint8Array | null {
  return members.length === 0 ? null : utf8.encode(canonicalJson(members.map(renderBytes)));
}

/** Heads remembered (devices are unbounded: past it, all are forgotten and built again). */
const EVENT_KEY_HEADS_MAX = 8192;
/** `<prefix><device>/` as UTF-8 per prefix and device (every event of a device starts so). */
const eventKeyHeads = new PairCache<Uint8Array>(EVENT_KEY_HEADS_MAX);
const ZERO = 0x30;

function eventKeyHead(prefix: string, device: string): Uint8Array {
  let head = eventKeyHeads.get(prefix, device);
  if (head === undefined) {
    head = utf8.encode(`${prefix}${device}/`);
    eventKeyHeads.set(prefix, device, head);
  }
  return head;
}

/** `<prefix><device>/<seq in SEQ_DIGITS decimal digits>`, the digits written straight into the key. */
export function eventEtcdKey(prefix: string, device: string, seq: number): Uint8Array {
  const head = eventKeyHead(prefix, device);
  const out = new Uint8Array(head.length + SEQ_DIGITS);
  out.set(head);
  // A seq is a safe integer (at most 16 digits): the digits from the right, zeros before.
  let v = seq;
  for (let i = out.length - 1; i >= head.length; i--) {
    out[i] = ZERO + (v % 10);
    v = Math.floor(v / 10);
  }
  return out;
}

/**
 * canonicalJson of {device, payload, schema_version, seq, ts, type} written out in its key
 * order (the generic one sorted six keys and built an array per event of a 1000-event page);
 * project.test.ts pins it to canonicalJson.
 */
export function eventValue(e: EventRecord): Uint8Array {
  return utf8.encode(
    `{"device":${JSON.stringify(e.deviceId)},"payload":${canonicalJson(renderBytes(e.payload))},"schema_version":${e.schemaVersion ?? 0},` +
    `"seq":${e.deviceSeq},"ts":${e.ts},"type":${JSON.stringify(e.type)}}`,
  );
}
