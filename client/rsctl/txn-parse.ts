// etcdctl's txn script: compares, a blank line, the success ops, a blank line, the
// failure ops (a blank line or the end of input ends the last section).
//
//   mod("key1") > "0"
//
//   put key1 "overwrote-key1"
//
//   put key1 "created-key1"
//   put key2 "some extra key"
//
// Compares: c|create, m|mod, ver|version, val|value, lease ( "<key>" ) <op> "<operand>",
// op one of = != < >. Ops: put <key> <value> [--lease=<hex>] [--prev-kv],
// get <key> [range_end] [--prefix|--from-key] [--limit=N] [--rev=N] [--keys-only] [--count-only],
// del <key> [range_end] [--prefix|--from-key] [--prev-kv]. Strings may be "quoted" (Go %q
// escapes) or 'single-quoted'.

import { cmp, op, type Compare, type CompareOp, type TxnOp } from '../index.js';
import { FlagSet, parseIntArg, takeFlag, UsageError, flag, type Flags, type FlagSpec } from './args.js';
import { parseHexId } from './ids.js';

const COMMAND = 'txn';

export interface TxnScript {
  compares: Compare[];
  success: TxnOp[];
  failure: TxnOp[];
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', "'": "'", '0': '\0' };

/** Splits a line into words; quoted words keep their spaces and lose their quotes. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (/\s/.test(line[i] as string)) {
      i++;
      continue;
    }
    let word = '';
    while (i < line.length && !/\s/.test(line[i] as string)) {
      const c = line[i] as string;
      if (c === '"' || c === "'") {
        const close = readQuoted(line, i, c);
        word += close.text;
        i = close.end;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

function readQuoted(line: string, start: number, quote: string): { text: string; end: number } {
  let text = '';
  for (let i = start + 1; i < line.length; i++) {
    const c = line[i] as string;
    if (c === quote) return { text, end: i + 1 };
    if (c === '\\' && quote === '"') {
      const n = line[i + 1] ?? '';
      if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
        text += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
        i += 3;
        continue;
      }
      text += ESCAPES[n] ?? n;
      i++;
      continue;
    }
    text += c;
  }
  throw new UsageError(`unterminated ${quote} quote in ${JSON.stringify(line)}`, COMMAND);
}

const COMPARE_RE = /^\s*(c|create|m|mod|ver|version|val|value|lease)\s*\(\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^)\s]+)\s*\)\s*(=|!=|<|>)\s*(.*?)\s*$/;

function operand(text: string, line: string): string {
  const words = tokenize(text);
  if (words.length !== 1) throw new UsageError(`compare ${JSON.stringify(line)}: expected one "quoted" operand`, COMMAND);
  return words[0] as string;
}

export function parseCompare(line: string): Compare {
  const m = COMPARE_RE.exec(line);
  if (m === null) {
    throw new UsageError(`bad compare ${JSON.stringify(line)}: expected e.g. mod("key") > "0" (targets c, m, ver, val, lease; ops = != < >)`, COMMAND);
  }
  const [, target, rawKey, o, rest] = m as unknown as [string, string, string, CompareOp, string];
  const key = operand(rawKey, line);
  const v = operand(rest, line);
  const num = (): number => parseIntArg(v, `compare ${JSON.stringify(line)}: the operand`);
  switch (target) {
    case 'c':
    case 'create':
      return cmp.createRevision(key, o, num());
    case 'm':
    case 'mod':
      return cmp.modRevision(key, o, num());
    case 'ver':
    case 'version':
      return cmp.version(key, o, num());
    case 'val':
    case 'value':
      return cmp.value(key, o, v);
    default:
      return cmp.lease(key, o, /^\d+$/.test(v) ? v : parseHexId(v, 'lease', COMMAND));
  }
}

const OP_FLAGS: FlagSpec[] = [
  { name: 'prefix', type: 'boolean', help: '' },
  { name: 'from-key', type: 'boolean', help: '' },
  { name: 'prev-kv', type: 'boolean', help: '' },
  { name: 'keys-only', type: 'boolean', help: '' },
  { name: 'count-only', type: 'boolean', help: '' },
  { name: 'lease', type: 'string', help: '' },
  { name: 'limit', type: 'int', help: '' },
  { name: 'rev', type: 'int', help: '' },
];

function range(args: string[], f: Flags, line: string): { prefix?: boolean; fromKey?: boolean; rangeEnd?: string } {
  if (flag.bool(f, 'prefix')) return { prefix: true };
  if (flag.bool(f, 'from-key')) return { fromKey: true };
  if (args.length > 2) throw new UsageError(`op ${JSON.stringify(line)}: too many arguments`, COMMAND);
  return args[1] === undefined ? {} : { rangeEnd: args[1] };
}

export function parseOp(line: string): TxnOp {
  const [verb, ...rest] = tokenize(line);
  const set = new FlagSet();
  set.add(OP_FLAGS);
  const f: Flags = {};
  const args: string[] = [];
  for (let i = 0; i < rest.length;) {
    const used = takeFlag(set, rest[i] as string, rest[i + 1], f, COMMAND);
    if (used === 0) args.push(rest[i++] as string);
    else i += used;
  }
  const key = args[0];
  if (key === undefined) throw new UsageError(`op ${JSON.stringify(line)}: missing key`, COMMAND);
  switch (verb) {
    case 'put': {
      if (args.length !== 2) throw new UsageError(`op ${JSON.stringify(line)}: usage is put <key> <value>`, COMMAND);
      const lease = flag.str(f, 'lease');
      return op.put(key, args[1] as string, {
        prevKv: flag.bool(f, 'prev-kv'),
        ...(lease === undefined ? {} : { lease: parseHexId(lease, '--lease', COMMAND) }),
      });
    }
    case 'get':
      return op.get(key, {
        ...range(args, f, line),
        limit: flag.int(f, 'limit') ?? 0,
        revision: flag.int(f, 'rev') ?? 0,
        keysOnly: flag.bool(f, 'keys-only'),
        countOnly: flag.bool(f, 'count-only'),
      });
    case 'del':
    case 'delete':
      return op.delete(key, { ...range(args, f, line), prevKv: flag.bool(f, 'prev-kv') });
    default:
      throw new UsageError(`op ${JSON.stringify(line)}: expected put, get or del`, COMMAND);
  }
}

/** Parses the three sections from the script's lines (see the top of this file). */
export function parseTxnScript(text: string): TxnScript {
  const sections: string[][] = [[]];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      if (sections.length < 3) sections.push([]);
      else if ((sections[2] as string[]).length > 0) break; // the blank line after the failure ops ends the script
      continue;
    }
    (sections[sections.length - 1] as string[]).push(line);
  }
  return {
    compares: (sections[0] ?? []).map(parseCompare),
    success: (sections[1] ?? []).map(parseOp),
    failure: (sections[2] ?? []).map(parseOp),
  };
}
