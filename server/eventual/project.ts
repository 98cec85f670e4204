// The change-feed projection (issue 13): what an etcd client reads through Range and Watch
// for each type. lww: the value as stored (a tombstone deletes the key); mv: the canonical
// JSON array of the sibling values (dot order); counter: the JSON number; set: the canonical
// JSON array of the members (byte order), the key deleted when no member is left; events:
// one etcd key per event, `<prefix><device>/<seq as 20 decimal digits>`, its value the
// canonical JSON object {"device","seq","ts","type","schema_version","payload"}. Bytes
// render as server/crdt/bytes.ts renderBytes does.

import { canonicalJson, renderBytes, type EventRecord, type MvRecord } from '../crdt/index.js';

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

export function eventEtcdKey(prefix: string, device: string, seq: number): Uint8Array {
  return utf8.encode(`${prefix}${device}/${String(seq).padStart(SEQ_DIGITS, '0')}`);
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
