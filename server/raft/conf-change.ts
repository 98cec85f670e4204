// Membership changes, one server at a time (Raft thesis §4.1), not joint consensus.
//
// Why this is safe here: adding or removing a single voter changes the voter set by one,
// so any majority of the old set and any majority of the new set overlap; there is no
// moment at which two disjoint majorities can decide. We keep that true with two rules:
//  1. a change takes effect when the driver applies its entry (applyConfChange), so a
//     node's membership moves only along the committed log, in log order;
//  2. at most one conf change is unapplied at any time: the leader refuses the next with
//     ProposalRefusal.ConfChangePending until the previous is applied, and a new leader
//     refuses until everything in its log at election (including its no-op) is applied —
//     which also closes the known single-server bug where a new leader would change
//     membership before committing an entry of its own term.
// Learners (AddLearnerNode) receive the log but neither vote nor count toward a quorum;
// AddNode on a learner promotes it; AddLearnerNode on a voter demotes it (still one voter
// change). Joint consensus would allow arbitrary changes in one step; we do not need it.

import type { Logger } from '../util/logger.js';
import { ConfChangeType, type ConfChange, type ConfState, type NodeId } from './types.js';

/** The membership after `cc`, or undefined when `cc` is invalid (then nothing changes). */
export function applyToConfState(cs: ConfState, cc: ConfChange, logger: Logger): ConfState | undefined {
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  const id = cc.nodeId;
  if (!Number.isSafeInteger(id) || id <= 0) {
    logger.warn('raft ignores a conf change with an invalid node id', { nodeId: id });
    return undefined;
  }
  switch (cc.type) {
    case ConfChangeType.AddNode:
      learners.delete(id);
      voters.add(id);
      break;
    case ConfChangeType.AddLearnerNode:
      voters.delete(id);
      learners.add(id);
      break;
    case ConfChangeType.RemoveNode:
      voters.delete(id);
      learners.delete(id);
      break;
    default:
      logger.warn('raft ignores a conf change of an unknown type', { type: cc.type });
      return undefined;
  }
  if (voters.size === 0 && cs.voters.length > 0) {
    logger.warn('raft ignores a conf change that would leave no voter', { nodeId: id, type: cc.type });
    return undefined;
  }
  return { voters: sortIds(voters), learners: sortIds(learners) };
}

function sortIds(ids: Set<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}

// ---- Entry data of ConfChange entries ----
// The core writes ConfChange entries itself (proposeConfChange, bootstrap), so it encodes
// them here, byte-compatible with proto/regionstore/v1/raft.proto `ConfChange` (fields:
// 1 type varint, 2 node_id varint, 3 context bytes); proto/raft-codec.ts decodes them.

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out: number[] = [];
  if (cc.type !== 0) {
    out.push(0x08);
    putVarint(out, cc.type);
  }
  if (cc.nodeId !== 0) {
    out.push(0x10);
    putVarint(out, cc.nodeId);
  }
  if (cc.context.length > 0) {
    out.push(0x1a);
    putVarint(out, cc.context.length);
    for (const b of cc.context) out.push(b);
  }
  return Uint8Array.from(out);
}

/** Decodes ConfChange entry data; returns undefined for malformed bytes. */
export function decodeConfChange(buf: Uint8Array): ConfChange | undefined {
  const cc: ConfChange = { type: 0, nodeId: 0, context: new Uint8Array(0) };
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const tag = getVarint(buf, pos);
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const v = getVarint(buf, pos);
      if (v === undefined) return undefined;
      if (field === 1) cc.type = v as ConfChangeType;
      else if (field === 2) cc.nodeId = v;
    } else if (wire === 2) {
      const len = getVarint(buf, pos);
      if (len === undefined || pos.at + len > buf.length) return undefined;
      if (field === 3) cc.context = buf.slice(pos.at, pos.at + len);
      pos.at += len;
    } else {
      return undefined;
    }
  }
  return cc;
}

function putVarint(out: number[], v: number): void {
  let n = v;
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

function getVarint(buf: Uint8Array, pos: { at: number }): number | undefined {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos.at++];
    if (b === undefined) return undefined;
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 0x80;
  }
  return undefined;
}
