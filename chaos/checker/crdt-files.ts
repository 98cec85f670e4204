// The crdt convergence check over a run's files (what `npm run chaos:check -- --crdt` reads):
// crdt-history.jsonl and crdt-final.json as the runner wrote them to --out.

import { readFile } from 'node:fs/promises';
import { parseCrdtHistory } from '../history/crdt-op.js';
import { checkCrdt, type CrdtResult } from './crdt.js';
import type { CrdtMemberFinal } from './crdt-state.js';

/** Throws Error naming the file and what is wrong with it. */
export async function checkCrdtFiles(historyPath: string, finalPath: string): Promise<CrdtResult> {
  let ops;
  try {
    ops = parseCrdtHistory(await readFile(historyPath, 'utf8'));
  } catch (err) {
    throw new Error(`${historyPath}: ${(err as Error).message}`, { cause: err });
  }
  let members: CrdtMemberFinal[];
  try {
    const final = JSON.parse(await readFile(finalPath, 'utf8')) as { members?: unknown };
    if (!Array.isArray(final.members)) throw new Error('expected {"members": [...]} as the runner writes it');
    members = final.members as CrdtMemberFinal[];
  } catch (err) {
    throw new Error(`${finalPath}: ${(err as Error).message}`, { cause: err });
  }
  return checkCrdt(ops, members);
}
