// events append | scan | completeness: the events namespaces of DESIGN §6a. An event is
// (device, seq, type, schema version, payload, time); a device's seqs tell what is missing.
//
//   rsctl events append telemetry --type temp --payload '{"c":21.5}' --device pump-7
//   rsctl events append telemetry --file events.jsonl      (one JSON object per line; - is stdin)
//   rsctl events scan telemetry --device pump-7 --from-seq 10
//   rsctl events completeness telemetry

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { EventInput } from '../../index.js';
import { expectArgs, flag, UsageError } from '../args.js';
import type { Command, CommandGroup, Context } from '../command.js';
import {
  answerJson, appendedJson, completenessJson, deviceLine, deviceRow, DEVICE_HEADERS, dotText, eventJson, eventLine, eventRow, EVENT_HEADERS,
  percentText,
} from '../crdt-output.js';
import { crdtReadOptions, READ_FLAGS } from './crdt.js';
import { readAll } from './kv.js';

/** Events per Write of `--file` (the server takes at most CRDT_EVENTS_PER_APPEND_MAX, 1000, per append). */
export const APPEND_BATCH_DEFAULT = 500;
export const APPEND_BATCH_MAX = 1000;

/** The fields a line of --file may have, snake_case or camelCase. */
const LINE_FIELDS = new Set(['device', 'type', 'payload', 'seq', 'schema_version', 'schemaVersion', 'ts_ms', 'tsMs']);

function wholeField(v: unknown, what: string, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new UsageError(`${where}: ${what} must be a whole number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * One line of an events file: a JSON object {device?, type?, payload?, seq?, schema_version?,
 * ts_ms?}; device and type default to --device and --type. The payload (any JSON value) is
 * sent as its JSON text, as --payload is.
 */
export function parseEventLine(line: string, where: string, defaults: { device: string; type: string | undefined }): EventInput {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw new UsageError(`${where}: not JSON (${(err as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new UsageError(`${where}: each line must be a JSON object`);
  const r = o as Record<string, unknown>;
  const unknown = Object.keys(r).filter((k) => !LINE_FIELDS.has(k));
  if (unknown.length > 0) throw new UsageError(`${where}: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')} (fields: device, type, payload, seq, schema_version, ts_ms)`);
  const device = r['device'] ?? defaults.device;
  const type = r['type'] ?? defaults.type;
  if (typeof device !== 'string' || device === '') throw new UsageError(`${where}: "device" must be a non-empty string`);
  if (typeof type !== 'string' || type === '') throw new UsageError(`${where}: "type" must be a non-empty string (or give --type)`);
  const seq = wholeField(r['seq'], '"seq"', where);
  const schemaVersion = wholeField(r['schema_version'] ?? r['schemaVersion'], '"schema_version"', where);
  const tsMs = wholeField(r['ts_ms'] ?? r['tsMs'], '"ts_ms"', where);
  return {
    device, type, payload: r['payload'] === undefined ? '' : JSON.stringify(r['payload']),
    ...(seq === undefined ? {} : { seq }), ...(schemaVersion === undefined ? {} : { schemaVersion }), ...(tsMs === undefined ? {} : { tsMs }),
  };
}

/** Every event of a JSON-lines text (blank lines skipped). */
export function parseEventsFile(text: string, name: string, defaults: { device: string; type: string | undefined }): EventInput[] {
  const out: EventInput[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() !== '') out.push(parseEventLine(line, `${name}:${i + 1}`, defaults));
  });
  if (out.length === 0) throw new UsageError(`${name} holds no events`);
  return out;
}

/** The event of --type/--payload/--seq/... */
export function eventFromFlags(ctx: Context, device: string): EventInput {
  const f = ctx.flags;
  const type = flag.str(f, 'type');
  if (type === undefined || type === '') throw new UsageError('--type is required (or give --file)', ctx.command);
  const payload = flag.str(f, 'payload');
  if (payload !== undefined) {
    try {
      JSON.parse(payload);
    } catch (err) {
      throw new UsageError(`--payload must be JSON (e.g. '{"c":21.5}'): ${(err as Error).message}`, ctx.command);
    }
  }
  const seq = flag.int(f, 'seq');
  const schemaVersion = flag.int(f, 'schema-version');
  const tsMs = flag.int(f, 'ts-ms');
  return {
    device, type, payload: payload ?? '',
    ...(seq === undefined ? {} : { seq }), ...(schemaVersion === undefined ? {} : { schemaVersion }), ...(tsMs === undefined ? {} : { tsMs }),
  };
}

const append: Command = {
  name: 'events append',
  usage: 'rsctl events append <namespace> --type T [--payload JSON] [--device D] [--seq N] | --file events.jsonl',
  summary: 'Appends events to an events namespace',
  description: 'With --file, one JSON object per line ({"device","type","payload","seq","schema_version","ts_ms"}; device and type default to ' +
    `--device and --type), sent --batch at a time, in order (- reads stdin). --seq is for gateways that relay a device's own sequence; ` +
    'without it the region gives the next seq after the device\'s highest. Simple output: "<device> <seq>" per event, "(duplicate)" ' +
    'when the same event was already held.',
  flags: [
    { name: 'type', type: 'string', arg: '<type>', help: 'The event\'s type.' },
    { name: 'payload', type: 'string', arg: '<json>', help: 'The event\'s payload, JSON.' },
    { name: 'device', type: 'string', arg: '<device>', help: 'The device the event is from (default: this host\'s name).' },
    { name: 'seq', type: 'int', arg: '<n>', help: 'The device\'s own seq of the event (0: the next).' },
    { name: 'schema-version', type: 'int', arg: '<n>', help: 'Schema version (0: the namespace\'s first).' },
    { name: 'ts-ms', type: 'int', arg: '<ms>', help: 'Event time in ms since the epoch (0: the region\'s clock at the write).' },
    { name: 'file', type: 'string', arg: '<path|->', help: 'Events as JSON lines.' },
    { name: 'batch', type: 'int', arg: '<n>', default: APPEND_BATCH_DEFAULT, help: `Events per Write with --file (at most ${APPEND_BATCH_MAX}).` },
  ],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const f = ctx.flags;
    const device = flag.str(f, 'device') ?? hostname();
    const file = flag.str(f, 'file');
    const batch = flag.int(f, 'batch') as number;
    if (batch < 1 || batch > APPEND_BATCH_MAX) throw new UsageError(`--batch must be 1..${APPEND_BATCH_MAX}, got ${batch}`, this.name);
    let events: EventInput[];
    if (file === undefined) events = [eventFromFlags(ctx, device)];
    else {
      if (['payload', 'seq', 'schema-version', 'ts-ms'].some((n) => f[n] !== undefined)) {
        throw new UsageError('--file takes each event\'s fields from its line: give --payload, --seq, --schema-version and --ts-ms there', this.name);
      }
      const text = file === '-' ? (await readAll(ctx.stdin)).toString('utf8') : await readFile(file, 'utf8');
      events = parseEventsFile(text, file === '-' ? 'stdin' : file, { device, type: flag.str(f, 'type') });
    }
    const client = await ctx.client();
    const rows: Array<{ line: string; row: string[] }> = [];
    const answers: Array<Record<string, unknown>> = [];
    for (let i = 0; i < events.length; i += batch) {
      const chunk = events.slice(i, i + batch);
      let r;
      try {
        r = await client.crdt.eventsAppend(ctx.args[0]!, chunk);
      } catch (err) {
        // Each batch is its own Write: the ones before this stay appended.
        if (i > 0) {
          ctx.out.note(`${i} of ${events.length} events were appended (${i / batch} batches) before this failure; events without a seq get new seqs ` +
            'when sent again, events with their seq are recognized as duplicates');
        }
        throw err;
      }
      answers.push({ ...answerJson(r), results: r.results.map(appendedJson) });
      r.results.forEach((x, j) => {
        const e = chunk[j]!;
        rows.push({
          line: `${e.device} ${x.seq}${x.duplicate ? ' (duplicate)' : ''}`,
          row: [e.device, String(x.seq), e.type, x.duplicate ? 'yes' : '', dotText(x.dot)],
        });
      });
    }
    if (ctx.global.writeOut === 'json') return ctx.out.json(answers.length === 1 ? answers[0] : { writes: answers });
    if (ctx.global.writeOut === 'table') return ctx.out.table(['DEVICE', 'SEQ', 'TYPE', 'DUPLICATE', 'DOT'], rows.map((x) => x.row));
    for (const x of rows) ctx.out.line(x.line);
  },
};

const scan: Command = {
  name: 'events scan',
  usage: 'rsctl events scan <namespace> [--device D] [--from-seq N] [--to-seq N] [--limit N] [flags]',
  summary: 'Lists events by device and seq',
  description: 'Without --limit every event that matches is fetched, device by device. Simple output: "<device> <seq> <time> <type> v<schema> <payload>" per event.',
  flags: [
    { name: 'device', type: 'string', arg: '<device>', help: 'One device (default: every device).' },
    { name: 'from-seq', type: 'int', arg: '<n>', help: 'Seqs from this one.' },
    { name: 'to-seq', type: 'int', arg: '<n>', help: 'Seqs up to this one.' },
    { name: 'limit', type: 'int', arg: '<n>', help: 'One answer of at most this many events.' },
    ...READ_FLAGS,
  ],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const f = ctx.flags;
    const limit = flag.int(f, 'limit');
    const device = flag.str(f, 'device');
    const fromSeq = flag.int(f, 'from-seq');
    const toSeq = flag.int(f, 'to-seq');
    const readOpts = crdtReadOptions(ctx);
    const r = await (await ctx.client()).crdt.eventsScan(ctx.args[0]!, {
      ...readOpts, ...(device === undefined ? {} : { device }), ...(fromSeq === undefined ? {} : { fromSeq }),
      ...(toSeq === undefined ? {} : { toSeq }), ...(limit === undefined ? { all: true } : { limit }),
    });
    if (ctx.global.writeOut === 'json') return ctx.out.json({ ...answerJson(r), events: r.events.map(eventJson), more: r.more });
    if (ctx.global.writeOut === 'table') return ctx.out.table(EVENT_HEADERS, r.events.map(eventRow));
    for (const e of r.events) ctx.out.line(eventLine(e));
  },
};

const completeness: Command = {
  name: 'events completeness',
  usage: 'rsctl events completeness <namespace> [--device D] [--limit N] [flags]',
  summary: 'Per device: the contiguous seq, the highest, the gaps and the completeness',
  description: 'Without --limit every device is listed. Simple output: one line per device, then the namespace\'s totals.',
  flags: [
    { name: 'device', type: 'string', arg: '<device>', help: 'One device (default: every device).' },
    { name: 'limit', type: 'int', arg: '<n>', help: 'One answer of at most this many devices.' },
    ...READ_FLAGS,
  ],
  async run(ctx) {
    expectArgs(ctx.args, 1, 1, this.usage, this.name);
    const limit = flag.int(ctx.flags, 'limit');
    const device = flag.str(ctx.flags, 'device');
    const readOpts = crdtReadOptions(ctx);
    const r = await (await ctx.client()).crdt.completeness(ctx.args[0]!, {
      ...readOpts, ...(device === undefined ? {} : { device }), ...(limit === undefined ? { all: true } : { limit }),
    });
    if (ctx.global.writeOut === 'json') return ctx.out.json(completenessJson(r));
    if (ctx.global.writeOut === 'table') return ctx.out.table(DEVICE_HEADERS, r.devices.map(deviceRow));
    for (const d of r.devices) ctx.out.line(deviceLine(d));
    ctx.out.line(`total: ${r.deviceCount} devices, ${r.gapCount} gaps, completeness ${percentText(r.completeness)}`);
  },
};

export const eventsGroup: CommandGroup = { name: 'events', summary: 'Events namespaces: append, scan, completeness', commands: [append, scan, completeness] };
