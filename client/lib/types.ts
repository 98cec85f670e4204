// The values the API hands back. Keys and values are Buffers (use .toString() or
// text()); revisions, versions, counts and TTLs are numbers; ids are decimal strings.

import type { LeaseId, MemberId } from './int64.js';

export interface ResponseHeader {
  clusterId: string;
  /** The member that answered. */
  memberId: MemberId;
  /** The store revision when the answer was made. */
  revision: number;
  raftTerm: number;
}

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  /** Revision of the key's latest creation. */
  createRevision: number;
  /** Revision of the key's latest change. */
  modRevision: number;
  /** Changes since the key's latest creation, 1 for a new key. */
  version: number;
  /** The attached lease, "0" for none. */
  lease: LeaseId;
}

export interface RangeResult {
  header: ResponseHeader;
  /** header.revision: the revision the read saw. */
  revision: number;
  kvs: KeyValue[];
  /** More keys matched than `limit` let through. */
  more: boolean;
  /** Keys that matched (before `limit`). */
  count: number;
}

export interface PutResult {
  header: ResponseHeader;
  /** The revision this put created. */
  revision: number;
  prevKv: KeyValue | undefined;
}

export interface DeleteResult {
  header: ResponseHeader;
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export type OpResult =
  | ({ type: 'range' } & RangeResult)
  | ({ type: 'put' } & PutResult)
  | ({ type: 'delete' } & DeleteResult)
  | ({ type: 'txn' } & TxnResult);

export interface TxnResult {
  header: ResponseHeader;
  revision: number;
  /** Whether every compare held (the success branch ran). */
  succeeded: boolean;
  responses: OpResult[];
}

export const EventType = { put: 'put', delete: 'delete' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface WatchEvent {
  type: EventType;
  kv: KeyValue;
  /** With the watch's prevKv option: the key before this change. */
  prevKv: KeyValue | undefined;
}
