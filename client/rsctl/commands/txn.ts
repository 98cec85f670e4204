// txn: a transaction read from stdin in etcdctl's format (see ../txn-parse.ts); with -i,
// each section is prompted for on stderr and ends at an empty line.

import { createInterface } from 'node:readline';
import type { OpResult } from '../../index.js';
import { expectArgs, flag } from '../args.js';
import type { Command, Context } from '../command.js';
import { txnJson } from '../etcd-json.js';
import type { Output } from '../output.js';
import { parseTxnScript } from '../txn-parse.js';
import { printKv, readAll } from './kv.js';

const PROMPTS = ['compares:', 'success requests (get, put, del):', 'failure requests (get, put, del):'];

/** Reads the three sections line by line, prompting for each on stderr. */
async function readInteractive(ctx: Context): Promise<string> {
  const rl = createInterface({ input: ctx.stdin, terminal: false });
  const lines: string[] = [];
  let section = 0;
  ctx.out.note(PROMPTS[0] as string);
  for await (const line of rl) {
    lines.push(line);
    if (line.trim() !== '') continue;
    section += 1;
    if (section === PROMPTS.length) break;
    ctx.out.note(`\n${PROMPTS[section] as string}`);
  }
  rl.close();
  return lines.join('\n');
}

function printOp(out: Output, r: OpResult): void {
  switch (r.type) {
    case 'put':
      out.line('OK');
      if (r.prevKv !== undefined) printKv(out, r.prevKv);
      return;
    case 'range':
      for (const kv of r.kvs) printKv(out, kv);
      return;
    case 'delete':
      out.line(String(r.deleted));
      for (const kv of r.prevKvs) printKv(out, kv);
      return;
    case 'txn':
      out.line(r.succeeded ? 'SUCCESS' : 'FAILURE');
      for (const sub of r.responses) {
        out.line();
        printOp(out, sub);
      }
  }
}

export const txnCommand: Command = {
  name: 'txn',
  usage: 'rsctl txn [-i] < script',
  summary: 'Runs a transaction (compares, then the success or the failure ops) read from stdin',
  description: [
    'The script has three sections separated by an empty line: compares, success ops, failure ops.',
    '  mod("key1") > "0"',
    '',
    '  put key1 "overwrote-key1"',
    '',
    '  put key1 "created-key1"',
    'Compares: c|create, m|mod, ver|version, val|value, lease ("<key>") <=|!=|<|>> "<operand>".',
    'Ops: put <key> <value> [--lease=<hex>] [--prev-kv]; get <key> [range_end] [--prefix|--from-key]',
    '[--limit=N] [--rev=N] [--keys-only] [--count-only]; del <key> [range_end] [--prefix|--from-key] [--prev-kv].',
    'Prints SUCCESS or FAILURE, then each op\'s answer. A FAILURE is not an error (exit 0).',
  ].join('\n'),
  flags: [{ name: 'interactive', short: 'i', type: 'boolean', help: 'Prompt for each section on stderr.' }],
  async run(ctx: Context) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    const text = flag.bool(ctx.flags, 'interactive') ? await readInteractive(ctx) : (await readAll(ctx.stdin)).toString('utf8');
    const script = parseTxnScript(text);
    const r = await (await ctx.client()).txn().when(...script.compares).success(...script.success).failure(...script.failure).commit();
    if (ctx.global.writeOut === 'json') return ctx.out.json(txnJson(r));
    printOp(ctx.out, { type: 'txn', ...r });
  },
};
