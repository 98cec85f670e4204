// Checks of messages from peers: a malformed message is logged and dropped, never thrown
// on, so a buggy or hostile peer cannot crash the node.

import { MessageType, type Entry, type Message } from './types.js';

const LOCAL_ONLY = new Set<number>([
  MessageType.Hup, MessageType.Beat, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum,
]);

const WIRE = new Set<number>(Object.values(MessageType).filter((t) => !LOCAL_ONLY.has(t)));

function isIndex(n: unknown): boolean {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Why `m` (from a peer, addressed to `self`) must be dropped, or undefined if it is fine. */
export function invalidPeerMessage(m: Message, self: number): string | undefined {
  if (!WIRE.has(m.type)) return `type ${m.type} is not a wire message`;
  if (m.to !== self) return `addressed to ${m.to}`;
  if (!isIndex(m.from) || m.from === 0 || m.from === self) return `bad sender ${m.from}`;
  if (![m.term, m.logTerm, m.index, m.commit, m.rejectHint].every(isIndex)) return 'a number field is not a non-negative integer';
  if (!Array.isArray(m.entries) || !(m.context instanceof Uint8Array)) return 'bad entries or context';
  if (m.type === MessageType.App) return invalidAppendEntries(m);
  if (m.type === MessageType.Prop) return m.entries.every(validEntryShape) ? undefined : 'bad proposed entry';
  if (m.entries.length > 0) return `type ${m.type} carries entries`;
  return undefined;
}

function validEntryShape(e: Entry): boolean {
  return (e.type === 0 || e.type === 1) && e.data instanceof Uint8Array && isIndex(e.term) && isIndex(e.index);
}

function invalidAppendEntries(m: Message): string | undefined {
  let prevTerm = m.logTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    if (!validEntryShape(e)) return `entry ${i} is malformed`;
    if (e.index !== m.index + 1 + i) return `entry ${i} has index ${e.index}, expected ${m.index + 1 + i}`;
    if (e.term < prevTerm || e.term > m.term) return `entry ${e.index} has term ${e.term} out of [${prevTerm}, ${m.term}]`;
    prevTerm = e.term;
  }
  return undefined;
}
