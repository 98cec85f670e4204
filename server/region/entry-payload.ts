// What a Normal Raft entry carries for the region node: what kind of command it is, who
// proposed it (member id and a per-member counter, so the proposer can match the applied
// result to a waiting request) and the command bytes. An entry with empty data is a
// leader's no-op.
//
// Layout: [u8 version=1][u8 kind][u64 proposer member id][u64 proposal counter][body...]

import { decodeU64, writeU64 } from '../storage/index.js';

const VERSION = 1;
export const PAYLOAD_HEADER_BYTES = 18;

export const PayloadKind = {
  /** An mvcc Command (server/mvcc command-codec). */
  Mvcc: 1,
  /** A member publishing its name and client URLs (JSON of MemberAttributes). */
  MemberAttributes: 2,
  /** A namespace registry command (server/namespace codec), applied by namespace-applier.ts. */
  Namespace: 3,
  /** An etcd Auth command (server/auth codec), applied by auth-applier.ts. 8, not 4: other kinds are being added in parallel. */
  Auth: 8,
  /**
   * An mvcc Command whose permissions were checked against the auth state at revision R
   * (auth enabled): body [u64 R][command]. Applied only while the auth revision is still R,
   * else refused with "revision of auth store is old" (etcd's apply-time check).
   */
  AuthedMvcc: 9,
} as const;
export type PayloadKind = (typeof PayloadKind)[keyof typeof PayloadKind];

export interface EntryPayload {
  kind: PayloadKind;
  proposer: number;
  counter: number;
  body: Uint8Array;
}

export function encodePayload(kind: PayloadKind, proposer: number, counter: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(PAYLOAD_HEADER_BYTES + body.length);
  out.set(body, PAYLOAD_HEADER_BYTES);
  return writePayloadHeader(out, kind, proposer, counter);
}

/**
 * encodePayload in place: `out` holds the body from PAYLOAD_HEADER_BYTES on (encoded there
 * with room for the header, as region-node encodes an mvcc command), and gets the header.
 */
export function writePayloadHeader(out: Uint8Array, kind: PayloadKind, proposer: number, counter: number): Uint8Array {
  // Every entry goes through here (and decodePayload) on every member: plain byte writes,
  // no DataView or BigInt per entry. Member ids and counters are below 2^53 (member-id.ts).
  if (out.length < PAYLOAD_HEADER_BYTES) throw new Error(`entry payload: ${out.length} bytes leave no room for the header`);
  out[0] = VERSION;
  out[1] = kind;
  writeU64(out, 2, proposer);
  writeU64(out, 10, counter);
  return out;
}

export function decodePayload(data: Uint8Array): EntryPayload | undefined {
  if (data.length === 0) return undefined; // leader no-op
  if (data.length < PAYLOAD_HEADER_BYTES || data[0] !== VERSION) {
    throw new Error(`entry payload: unknown format (version byte ${data[0]}, ${data.length} bytes)`);
  }
  return {
    kind: data[1] as PayloadKind,
    proposer: decodeU64(data, 2),
    counter: decodeU64(data, 10),
    body: data.subarray(PAYLOAD_HEADER_BYTES),
  };
}
