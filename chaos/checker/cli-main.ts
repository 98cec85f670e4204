// The chaos:check command (cli.ts runs it):
// `npm run chaos:check -- history.jsonl [--time-limit-s N] [--max-steps N] [--json]`
// Checks a register history file for linearizability; with --crdt, a crdt workload's
// history and final reads (crdt-history.jsonl crdt-final.json) for convergence. Exit status:
//   0  linearizable
//   1  not linearizable (the smallest window that shows it is printed)
//   2  unknown (a bound was reached), the file is malformed (line and defect printed),
//      or the command line is wrong.

import { parseArgs } from 'node:util';
import { HistoryFormatError, readHistoryFile } from '../history/reader.js';
import {
  checkLinearizability, DEFAULT_MAX_STEPS_PER_KEY, DEFAULT_TIME_LIMIT_MS, DEFAULT_WINDOW_TIME_LIMIT_MS, type Verdict,
} from './linearizability.js';
import { renderLinearizability } from './render.js';
import { checkCrdtFiles } from './crdt-files.js';
import { summarizeCrdt } from './crdt-render.js';

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_UNKNOWN = 2;

const USAGE =
  'usage: npm run chaos:check -- <history.jsonl> [--time-limit-s N] [--max-steps N] [--json]\n' +
  '       npm run chaos:check -- --crdt <crdt-history.jsonl> <crdt-final.json> [--json]\n' +
  `  --time-limit-s  wall-clock budget of the search (default ${DEFAULT_TIME_LIMIT_MS / 1000}); a key that\n` +
  `                  needs it gets up to ${DEFAULT_WINDOW_TIME_LIMIT_MS / 1000} s more to shrink a violation or scan stretches\n` +
  `  --max-steps     search steps per key (default ${DEFAULT_MAX_STEPS_PER_KEY})\n` +
  '  --json          print the result as JSON\n' +
  'exit status: 0 linearizable, 1 not linearizable, 2 unknown or malformed file';

const EXIT_BY_VERDICT: Record<Verdict, number> = { ok: EXIT_OK, violation: EXIT_VIOLATION, unknown: EXIT_UNKNOWN };

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/** Runs the command; returns the exit status. Output goes through `out` and `err`. */
export async function main(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s + '\n'),
  err: (s: string) => void = (s) => process.stderr.write(s + '\n'),
): Promise<number> {
  let path: string;
  let timeLimitS: number | undefined;
  let maxSteps: number | undefined;
  let json: boolean;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { 'time-limit-s': { type: 'string' }, 'max-steps': { type: 'string' }, json: { type: 'boolean' }, crdt: { type: 'boolean' } },
    });
    if (values.crdt === true) {
      if (positionals.length !== 2) throw new Error(`--crdt: expected the crdt history and the final reads, got ${positionals.length} file(s)`);
      return await checkCrdt(positionals[0]!, positionals[1]!, values.json === true, out, err);
    }
    if (positionals.length !== 1) throw new Error(`expected one history file, got ${positionals.length}`);
    path = positionals[0]!;
    timeLimitS = positive('time-limit-s', values['time-limit-s']);
    maxSteps = positive('max-steps', values['max-steps']);
    json = values.json === true;
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return EXIT_UNKNOWN;
  }
  let history;
  try {
    history = (await readHistoryFile(path)).ops;
  } catch (e) {
    if (e instanceof HistoryFormatError) err(`${path}:${e.line}: ${e.detail}`);
    else err(`${path}: ${(e as Error).message}`);
    return EXIT_UNKNOWN;
  }
  const result = checkLinearizability(history, {
    ...(timeLimitS !== undefined ? { timeLimitMs: timeLimitS * 1000 } : {}),
    ...(maxSteps !== undefined ? { maxStepsPerKey: Math.floor(maxSteps) } : {}),
  });
  out(json ? JSON.stringify(result, null, 2) : renderLinearizability(history, result));
  return EXIT_BY_VERDICT[result.verdict];
}

async function checkCrdt(history: string, final: string, json: boolean, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let result;
  try {
    result = await checkCrdtFiles(history, final);
  } catch (e) {
    err((e as Error).message);
    return EXIT_UNKNOWN;
  }
  out(json ? JSON.stringify(result, null, 2) : summarizeCrdt(result).details);
  return EXIT_BY_VERDICT[result.verdict];
}
