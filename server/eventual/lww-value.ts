// The value of an lww winner outside apply. A format-2 state (codec.ts LwwWinner) keeps no
// value: the key's mvcc row does, written at the winner's revision. The row and the state are
// written in one engine write, so a row whose mod revision is the winner's holds its value;
// any other row belongs to a later winner (the state read is older than the row).

import type { LwwRecord } from '../crdt/index.js';
import { decodeLatest, latestKey } from '../mvcc/index.js';
import type { Engine } from '../storage/index.js';
import { decodeKeyState, lwwRecordOf, type LwwWinner } from './codec.js';
import { keyStateKey } from './layout.js';

/** The winner's record, reading its mvcc row if need be; undefined: a later write replaced it. */
export async function lwwRecordFromEngine(engine: Engine, key: Uint8Array, winner: LwwWinner): Promise<LwwRecord | undefined> {
  if (winner.tombstone) return lwwRecordOf(key, winner, null);
  if (winner.value !== undefined) return lwwRecordOf(key, winner, winner.value);
  const row = await engine.get(latestKey(key));
  if (row === undefined) return undefined;
  const kv = decodeLatest(key, row);
  return kv.modRevision === winner.revision ? lwwRecordOf(key, winner, kv.value.slice()) : undefined;
}

/**
 * The current winners of `keys` of lww namespace `ns` with their values, states and rows read
 * in ONE engine getMany (one snapshot: each state matches its row). Keys without a state, or
 * whose winner is a tombstone, come back undefined.
 */
export async function lwwRecordsNow(engine: Engine, ns: string, keys: readonly Uint8Array[]): Promise<Array<LwwRecord | undefined>> {
  if (keys.length === 0) return [];
  const got = await engine.getMany([...keys.map((k) => keyStateKey(ns, k)), ...keys.map(latestKey)]);
  return keys.map((key, i) => {
    const sv = got[i];
    if (sv === undefined) return undefined;
    const s = decodeKeyState(sv);
    if (s.kind !== 'lww' || s.winner.tombstone) return undefined;
    if (s.winner.value !== undefined) return lwwRecordOf(key, s.winner, s.winner.value);
    const row = got[keys.length + i];
    // No row for a live winner cannot happen (one engine write holds both): shown as absent.
    return row === undefined ? undefined : lwwRecordOf(key, s.winner, decodeLatest(key, row).value.slice());
  });
}
