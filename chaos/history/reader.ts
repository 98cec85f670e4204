// The strict reader of a history file. A checker that quietly skipped a line it could not
// read would check a different history than the one recorded, so any defect stops the
// read with the line number and what is wrong.
//
// Checks, in order: each line is one JSON object of exactly the nine fields with valid
// types and meaning (op.ts); then, over the whole file, no process runs two operations at
// once (a process is sequential: its next call comes at or after its previous return).
// Lines need not be in time order (a workload may write in completion order).

import { readFile } from 'node:fs/promises';
import { opError, type HistoryOp } from './op.js';

export class HistoryFormatError extends Error {
  override name = 'HistoryFormatError';
  constructor(
    /** 1-based line number of the defect. */
    readonly line: number,
    /** What is wrong, for a person. */
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

export interface ParsedHistory {
  ops: HistoryOp[];
  /** ops[i] came from line lines[i] (1-based). */
  lines: number[];
}

function parseLine(text: string, line: number): HistoryOp {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HistoryFormatError(line, `not valid JSON (${(err as Error).message})`);
  }
  const error = opError(value);
  if (error !== undefined) throw new HistoryFormatError(line, error);
  return value as HistoryOp;
}

/** Throws HistoryFormatError at the first line where a process overlaps itself. */
function checkProcessesSequential(parsed: ParsedHistory): void {
  const byProcess = new Map<number, number[]>();
  parsed.ops.forEach((op, i) => {
    const list = byProcess.get(op.process);
    if (list === undefined) byProcess.set(op.process, [i]);
    else list.push(i);
  });
  let worst: HistoryFormatError | undefined;
  for (const [process, indexes] of byProcess) {
    indexes.sort((a, b) => parsed.ops[a]!.call - parsed.ops[b]!.call || a - b);
    for (let k = 1; k < indexes.length; k++) {
      const prev = parsed.ops[indexes[k - 1]!]!;
      const cur = parsed.ops[indexes[k]!]!;
      if (cur.call >= prev.return) continue;
      const prevLine = parsed.lines[indexes[k - 1]!]!;
      const curLine = parsed.lines[indexes[k]!]!;
      // Blame the line read last; the message names both.
      const error = new HistoryFormatError(
        Math.max(curLine, prevLine),
        `process ${process} overlaps itself: its operation on line ${curLine} is called at ${cur.call} ns, ` +
          `but its operation on line ${prevLine} (called at ${prev.call} ns) returns only at ${prev.return} ns; ` +
          `a process runs one operation at a time`,
      );
      if (worst === undefined || error.line < worst.line) worst = error;
    }
  }
  if (worst !== undefined) throw worst;
}

/**
 * Parses a whole history. A final newline is fine; any other empty line is a defect.
 * Throws HistoryFormatError.
 */
export function parseHistory(text: string): ParsedHistory {
  const rows = text.split('\n');
  if (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
  const parsed: ParsedHistory = { ops: [], lines: [] };
  rows.forEach((row, i) => {
    const line = i + 1;
    const body = row.endsWith('\r') ? row.slice(0, -1) : row;
    if (body.trim() === '') throw new HistoryFormatError(line, 'empty line (one JSON object per line)');
    parsed.ops.push(parseLine(body, line));
    parsed.lines.push(line);
  });
  checkProcessesSequential(parsed);
  return parsed;
}

/** Reads and parses a history file. Throws HistoryFormatError, or the fs error. */
export async function readHistoryFile(path: string): Promise<ParsedHistory> {
  return parseHistory(await readFile(path, 'utf8'));
}
