// Helpers to drive single RawNodes in tests: build one over a given log, handle its
// Readies like a driver (persist, then advance), collect what it sends.

import { silentLogger } from '../../util/logger.js';
import { SeededRandom } from '../../util/random.js';
import { MemoryStorage } from '../memory-storage.js';
import { RawNode } from '../raw-node.js';
import { EMPTY_BYTES, emptyMessage, type Entry, type Message, type MessageType, type NodeId, type Ready } from '../types.js';
import type { ConfigOverrides } from './network.js';

export interface Harness {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
}

export interface RawOptions {
  learners?: NodeId[];
  /** Terms of the entries of the initial log, indexes 1..n. */
  log?: number[];
  term?: number;
  vote?: NodeId;
  commit?: number;
  overrides?: ConfigOverrides;
  seed?: number;
}

export function entry(index: number, term: number, data: Uint8Array = EMPTY_BYTES): Entry {
  return { index, term, type: 0, data };
}

export function newStorage(voters: NodeId[], opts: RawOptions = {}): MemoryStorage {
  const storage = new MemoryStorage({
    confState: { voters, learners: opts.learners ?? [] },
    hardState: { term: opts.term ?? 0, vote: opts.vote ?? 0, commit: opts.commit ?? 0 },
  });
  storage.append((opts.log ?? []).map((t, i) => entry(i + 1, t)));
  return storage;
}

export function newRaw(id: NodeId, voters: NodeId[], opts: RawOptions = {}): Harness {
  const storage = newStorage(voters, opts);
  const node = new RawNode({
    id,
    storage,
    random: new SeededRandom(opts.seed ?? id),
    logger: silentLogger,
    ...opts.overrides,
  } as ConstructorParameters<typeof RawNode>[0]);
  return { id, node, storage };
}

/** One Ready handled like a driver: persist, (apply), advance. Undefined if none. */
export function cycle(h: Harness): Ready | undefined {
  if (!h.node.hasReady()) return undefined;
  const rd = h.node.ready();
  persist(h, rd);
  h.node.advance(rd);
  return rd;
}

export function persist(h: Harness, rd: Ready): void {
  if (rd.snapshot !== undefined) h.storage.applySnapshot(rd.snapshot);
  h.storage.append(rd.entries);
  if (rd.hardState !== undefined) h.storage.setHardState(rd.hardState);
}

/** Handles Readies until there is none; returns every message sent meanwhile. */
export function drain(h: Harness): Message[] {
  const out: Message[] = [];
  for (let rd = cycle(h); rd !== undefined; rd = cycle(h)) out.push(...rd.messages);
  return out;
}

export function msg(type: MessageType, from: NodeId, to: NodeId, term: number, fields: Partial<Message> = {}): Message {
  return { ...emptyMessage(type, from, to, term), ...fields };
}

export function ofType(msgs: Message[], type: MessageType): Message[] {
  return msgs.filter((m) => m.type === type);
}
