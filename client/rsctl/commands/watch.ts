// watch: prints every change of a key, a range or a prefix until Ctrl-C (or until
// --max-events changes were printed). The watch resumes on another member if the one
// serving it fails, without a gap or a duplicate.

import type { WatchBatch, WatchEvent } from '../../index.js';
import { expectArgs, flag } from '../args.js';
import type { Command, Context } from '../command.js';
import { eventJson, headerJson } from '../etcd-json.js';
import type { Output } from '../output.js';
import { keyRange, printKv } from './kv.js';

function printEvent(out: Output, e: WatchEvent): void {
  out.line(e.type === 'delete' ? 'DELETE' : 'PUT');
  if (e.prevKv !== undefined) printKv(out, e.prevKv);
  printKv(out, e.kv);
}

function printBatch(out: Output, b: WatchBatch, json: boolean): void {
  if (json) {
    const events = b.type === 'events' ? b.events.map(eventJson) : [];
    out.json({ header: headerJson(b.header), ...(events.length > 0 ? { events } : {}) });
    return;
  }
  if (b.type === 'events') for (const e of b.events) printEvent(out, e);
}

export const watchCommand: Command = {
  name: 'watch',
  usage: 'rsctl watch <key> [range_end] [flags]',
  summary: 'Prints the changes of a key or a range until Ctrl-C',
  description: [
    'Simple output per change: PUT or DELETE, then (with --prev-kv) the previous key and value, then the key and value.',
    'JSON output: one line per batch of changes (a revision\'s changes come in one batch).',
    '"watching ..." goes to stderr once the watch is in place: later changes are all printed.',
  ].join('\n'),
  flags: [
    { name: 'prefix', type: 'boolean', help: 'Every key with <key> as a prefix.' },
    { name: 'from-key', type: 'boolean', help: 'Every key >= <key>.' },
    { name: 'rev', type: 'int', arg: '<revision>', help: 'Start at this revision (earlier changes are replayed); default: now.' },
    { name: 'prev-kv', type: 'boolean', help: 'Print each key\'s value before the change.' },
    { name: 'progress-notify', type: 'boolean', help: 'Ask for progress notifications (printed in JSON output).' },
    { name: 'max-events', type: 'int', arg: '<n>', help: 'Exit once this many changes were printed (the batch reaching it is printed whole; 0: never).' },
  ],
  async run(ctx: Context) {
    expectArgs(ctx.args, 1, 2, this.usage, this.name);
    const maxEvents = flag.int(ctx.flags, 'max-events') ?? 0;
    const rev = flag.int(ctx.flags, 'rev');
    const client = await ctx.client();
    const w = client.watch(ctx.args[0] as string, {
      ...keyRange(ctx.args, ctx.flags, this.name),
      ...(rev === undefined ? {} : { startRevision: rev }),
      prevKv: flag.bool(ctx.flags, 'prev-kv'),
      progressNotify: flag.bool(ctx.flags, 'progress-notify'),
    });
    const stop = (): void => w.close();
    ctx.signal.addEventListener('abort', stop, { once: true });
    try {
      await w.ready();
      ctx.out.note(`watching ${ctx.args.join(' ')} from revision ${w.resumeRevision}`);
      let seen = 0;
      const json = ctx.global.writeOut === 'json';
      for await (const b of w) {
        printBatch(ctx.out, b, json);
        if (b.type === 'events') seen += b.events.length;
        if (maxEvents > 0 && seen >= maxEvents) break;
      }
    } catch (err) {
      if (ctx.signal.aborted) return; // Ctrl-C while waiting for the watch: a normal end
      throw err;
    } finally {
      ctx.signal.removeEventListener('abort', stop);
      w.close();
    }
  },
};
