// The :authority repair on frames built by hand: padding, priority, CONTINUATION, dynamic
// table references and size updates, the dropped SETTINGS ACK, any split of the input.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientStreamRewriter, isValidAuthority, repairAuthority, repairFields } from './authority-fix.js';
import {
  CLIENT_PREFACE,
  FRAME_HEADER_BYTES,
  FRAME_PAYLOAD_BYTES_DEFAULT,
  Flag,
  FrameType,
  H2ProtocolError,
  HeaderBlockAssembler,
  frameHeader,
  readFrameHeader,
  type FrameHeader,
} from './h2-frames.js';
import { huffmanCode } from './hpack-huffman.js';
import { HpackDecoder } from './hpack.js';
import { SeededRandom } from '../util/random.js';

const frame = (type: number, flags: number, sid: number, payload: Buffer = Buffer.alloc(0)): Buffer =>
  Buffer.concat([frameHeader(payload.length, type, flags, sid), payload]);

/** A huffman-coded HPACK string literal (H bit set), built from the RFC's code table. */
function huffmanString(s: string): Buffer {
  let bits = '';
  for (const b of Buffer.from(s, 'latin1')) {
    const { code, bits: n } = huffmanCode(b);
    bits += code.toString(2).padStart(n, '0');
  }
  bits += '1'.repeat((8 - (bits.length % 8)) % 8);
  const bytes = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  assert.ok(bytes.length < 127);
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}
const rawString = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);

const BAD = 'http://127.0.0.1:2379';
const FALLBACK = '[::1]:9';
// First request: :method POST (static 3), :scheme http (6), :path literal, :authority
// huffman-coded with incremental indexing (static name 1), content-type indexed literal.
const block1 = Buffer.concat([
  Buffer.from([0x83, 0x86]),
  Buffer.from([0x44]), rawString('/etcdserverpb.Maintenance/Status'),
  Buffer.from([0x41]), huffmanString(BAD),
  Buffer.from([0x5f]), rawString('application/grpc'),
]);
// Second request: a size update (4096, unchanged), then :authority by dynamic index 63
// (the table holds content-type at 62, :authority at 63), and a never-indexed host with
// nothing usable in it (it becomes the fallback).
const block2 = Buffer.concat([
  Buffer.from([0x3f, 0xe1, 0x1f]),
  Buffer.from([0x83, 0x86, 0xbf]),
  Buffer.from([0x04]), rawString('/etcdserverpb.KV/Range'),
  Buffer.from([0x10]), rawString('host'), rawString('#nothing'),
]);
const data = frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from([0, 0, 0, 0, 0]));

function clientStream(): Buffer {
  const split = 10;
  const padded = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 15]), block1.subarray(0, split), Buffer.alloc(3)]);
  return Buffer.concat([
    CLIENT_PREFACE,
    frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0xff, 0xff])),
    frame(FrameType.SETTINGS, Flag.ACK, 0),
    frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, padded),
    frame(FrameType.CONTINUATION, 0, 1, block1.subarray(split, split + 5)),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block1.subarray(split + 5)),
    data,
    frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, block2),
    frame(FrameType.SETTINGS, Flag.ACK, 0),
  ]);
}

interface Out { h: FrameHeader; payload: Buffer }
function parse(all: Buffer): { preface: Buffer; frames: Out[] } {
  const frames: Out[] = [];
  let pos = CLIENT_PREFACE.length;
  while (pos < all.length) {
    const h = readFrameHeader(all, pos);
    frames.push({ h, payload: all.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + h.length) });
    pos += FRAME_HEADER_BYTES + h.length;
  }
  assert.equal(pos, all.length);
  return { preface: all.subarray(0, CLIENT_PREFACE.length), frames };
}

function rewriteAll(input: Buffer, chunk: number): Buffer {
  const rewriter = new ClientStreamRewriter({ dropFirstSettingsAck: true, fallbackAuthority: FALLBACK });
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) out.push(...rewriter.push(input.subarray(i, i + chunk)));
  return Buffer.concat(out);
}

test('authority values: valid ones pass, a scheme and a path are cut, nothing usable is undefined', () => {
  assert.ok(isValidAuthority(Buffer.from('127.0.0.1:2379')));
  assert.ok(isValidAuthority(Buffer.from('[::1]:2379')));
  assert.ok(!isValidAuthority(Buffer.from(BAD)));
  assert.equal(repairAuthority(Buffer.from(BAD))?.toString(), '127.0.0.1:2379');
  assert.equal(repairAuthority(Buffer.from('https://[::1]:2379'))?.toString(), '[::1]:2379');
  assert.equal(repairAuthority(Buffer.from('unix://localhost:7/a/b'))?.toString(), 'localhost:7');
  assert.equal(repairAuthority(Buffer.from('#initially=[http://a:1]'))?.toString(), 'a:1');
  assert.equal(repairAuthority(Buffer.from('#nothing')), undefined);
  assert.equal(repairAuthority(Buffer.from('h:1 tail'))?.toString(), 'h:1');
  assert.equal(repairAuthority(Buffer.from('http://[fe80::1]:2379/'))?.toString(), '[fe80::1]:2379');
  assert.equal(repairAuthority(Buffer.from('http://')), undefined);
});

test('rewrites header blocks, passes every other frame and drops the first SETTINGS ACK', () => {
  const input = clientStream();
  const { preface, frames } = parse(rewriteAll(input, input.length));
  assert.deepEqual(preface, CLIENT_PREFACE);
  assert.deepEqual(frames.map((f) => [f.h.type, f.h.flags, f.h.streamId]), [
    [FrameType.SETTINGS, 0, 0],
    [FrameType.HEADERS, Flag.PRIORITY | Flag.END_HEADERS, 1],
    [FrameType.DATA, Flag.END_STREAM, 1],
    [FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3],
    [FrameType.SETTINGS, Flag.ACK, 0], // the second ACK is the server's to receive
  ]);
  assert.deepEqual(frames[1]!.payload.subarray(0, 5), Buffer.from([0, 0, 0, 0, 15]));
  assert.deepEqual(Buffer.concat([frameHeader(frames[2]!.h.length, FrameType.DATA, Flag.END_STREAM, 1), frames[2]!.payload]), data);
  // A fresh decoder (the server's, whose table the rewritten blocks never touch) sees repaired values.
  const server = new HpackDecoder();
  const first = server.decode(frames[1]!.payload.subarray(5));
  const second = server.decode(frames[3]!.payload);
  assert.equal(server.tableBytes, 0);
  const get = (fs: typeof first, name: string) => fs.find((f) => f.name === name)?.value.toString();
  assert.equal(get(first, ':authority'), '127.0.0.1:2379');
  assert.equal(get(first, ':path'), '/etcdserverpb.Maintenance/Status');
  assert.equal(get(first, 'content-type'), 'application/grpc');
  assert.equal(get(second, ':authority'), '127.0.0.1:2379');
  assert.equal(get(second, 'host'), FALLBACK);
  assert.equal(second.find((f) => f.name === 'host')?.never, true);
  assert.equal(get(second, ':path'), '/etcdserverpb.KV/Range');
});

test('the output does not depend on how the input is split', () => {
  const input = clientStream();
  const whole = rewriteAll(input, input.length);
  for (const chunk of [1, 2, 7, 9, 10, 64]) assert.deepEqual(rewriteAll(input, chunk), whole, `chunks of ${chunk}`);
});

test('a block larger than one frame is split into CONTINUATION frames', () => {
  const big = Buffer.concat([Buffer.from([0x83, 0x86, 0x44]), rawString('/x'), Buffer.from([0x41]), huffmanString(BAD)]);
  const valueBytes = 20_000;
  // 7-bit prefix integer: 127, then (20000 - 127) in base 128, low groups first.
  const huge = Buffer.concat([Buffer.from([0x00]), rawString('x-big'), Buffer.from([0x7f, 0xa1, 0x9b, 0x01]), Buffer.alloc(valueBytes, 'a')]);
  const block = Buffer.concat([big, huge]);
  const input = Buffer.concat([
    CLIENT_PREFACE,
    frame(FrameType.HEADERS, 0, 1, block.subarray(0, 16_000)),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(16_000)),
  ]);
  const { frames } = parse(rewriteAll(input, 4096));
  assert.ok(frames.length >= 2);
  assert.ok(frames.every((f) => f.h.length <= FRAME_PAYLOAD_BYTES_DEFAULT));
  assert.deepEqual(frames.map((f) => f.h.type), [FrameType.HEADERS, ...frames.slice(1).map(() => FrameType.CONTINUATION)]);
  assert.deepEqual(frames.map((f) => (f.h.flags & Flag.END_HEADERS) !== 0), frames.map((_, i) => i === frames.length - 1));
  const assembler = new HeaderBlockAssembler();
  let decoded;
  for (const f of frames) decoded = assembler.add(f.h, f.payload) ?? decoded;
  const fields = new HpackDecoder().decode(decoded!.fragment);
  assert.equal(fields.find((f) => f.name === ':authority')?.value.toString(), '127.0.0.1:2379');
  assert.equal(fields.find((f) => f.name === 'x-big')?.value.length, valueBytes);
});

const rw = (): ClientStreamRewriter => new ClientStreamRewriter({ dropFirstSettingsAck: false, fallbackAuthority: FALLBACK });

test('protocol errors are reported, not passed on', () => {
  const inBlock = Buffer.concat([CLIENT_PREFACE, frame(FrameType.HEADERS, 0, 1, block1.subarray(0, 4)), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]);
  assert.throws(() => rw().push(inBlock), H2ProtocolError);
  const badPad = Buffer.concat([CLIENT_PREFACE, frame(FrameType.HEADERS, Flag.PADDED | Flag.END_HEADERS, 1, Buffer.from([200, 0x82]))]);
  assert.throws(() => rw().push(badPad), /padding/);
  const orphan = Buffer.concat([CLIENT_PREFACE, frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.from([0x82]))]);
  assert.throws(() => rw().push(orphan), /CONTINUATION/);
  const badHpack = Buffer.concat([CLIENT_PREFACE, frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80]))]);
  assert.throws(() => rw().push(badHpack), /index 0/);
});

/** HPACK integer with an n-bit prefix, for the test encoder. */
function hpackInt(flags: number, prefixBits: number, value: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A test-side HPACK encoder that uses every representation, mirroring its dynamic table. */
class TestEncoder {
  private table: Array<{ name: string; value: string; size: number }> = [];
  private max = 4096;
  constructor(private readonly rng: SeededRandom) {}

  block(fields: Array<[string, string, boolean]>, sizeUpdate: number | undefined): Buffer {
    const parts: Buffer[] = [];
    if (sizeUpdate !== undefined) {
      parts.push(hpackInt(0x20, 5, sizeUpdate));
      this.max = sizeUpdate;
      this.evict(0);
    }
    for (const [name, value, never] of fields) {
      const hit = this.table.findIndex((e) => e.name === name && e.value === value);
      if (!never && hit >= 0 && this.rng.next() < 0.6) {
        parts.push(hpackInt(0x80, 7, 62 + hit));
        continue;
      }
      const kind = never ? 'never' : (['incremental', 'without'] as const)[this.rng.int(0, 2)]!;
      const [flags, bits] = kind === 'incremental' ? [0x40, 6] : kind === 'never' ? [0x10, 4] : [0x00, 4];
      const nameHit = this.table.findIndex((e) => e.name === name);
      if (name === ':authority' && this.rng.next() < 0.5) parts.push(hpackInt(flags, bits, 1));
      else if (nameHit >= 0 && this.rng.next() < 0.5) parts.push(hpackInt(flags, bits, 62 + nameHit));
      else parts.push(hpackInt(flags, bits, 0), this.str(name));
      parts.push(this.str(value));
      if (kind === 'incremental') this.insert(name, value);
    }
    return Buffer.concat(parts);
  }

  private str(s: string): Buffer {
    if (s.length < 100 && this.rng.next() < 0.5) return huffmanString(s);
    return Buffer.concat([hpackInt(0, 7, s.length), Buffer.from(s, 'latin1')]);
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + 32;
    this.evict(size);
    if (size <= this.max) this.table.unshift({ name, value, size });
  }

  private evict(incoming: number): void {
    let used = this.table.reduce((n, e) => n + e.size, 0);
    while (used + incoming > this.max && this.table.length > 0) used -= this.table.pop()!.size;
  }
}

const AUTHORITIES = [BAD, '127.0.0.1:2379', 'https://[::1]:2379/x', '#initially=[http://h:1]', '#', 'localhost'];
/** Streams per run of the randomized test; replay one run with RS_SEED=<printed seed>. */
const RANDOM_STREAMS = 300;

function randomText(rng: SeededRandom, maxLength: number): string {
  let s = '';
  const n = rng.int(0, maxLength + 1);
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(0x20, 0x7f));
  return s;
}

function checkRandomStream(seed: number): void {
  const rng = new SeededRandom(seed);
  const enc = new TestEncoder(rng);
  const input: Buffer[] = [CLIENT_PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 1, 0, 0, 0x10, 0]))];
  const expectedOther: Buffer[] = [input[1]!];
  const expectedBlocks: Array<Array<[string, string, boolean]>> = [];
  const requests = rng.int(1, 7);
  const ackAt = rng.int(0, requests);
  for (let r = 0; r < requests; r++) {
    if (r === ackAt) input.push(frame(FrameType.SETTINGS, Flag.ACK, 0)); // dropped
    const fields: Array<[string, string, boolean]> = [
      [':method', 'POST', false], [':scheme', 'http', false], [':path', `/svc/M${rng.int(0, 3)}`, false],
      [':authority', AUTHORITIES[rng.int(0, AUTHORITIES.length)]!, rng.next() < 0.1],
      ['content-type', 'application/grpc', false],
    ];
    for (let i = rng.int(0, 4); i > 0; i--) fields.push([`x-${rng.int(0, 5)}`, randomText(rng, 300), rng.next() < 0.2]);
    if (rng.next() < 0.3) fields.push(['host', AUTHORITIES[rng.int(0, AUTHORITIES.length)]!, false]);
    const sizeUpdate = rng.next() < 0.2 ? rng.int(0, 4097) : undefined;
    const block = enc.block(fields, sizeUpdate);
    expectedBlocks.push(fields);
    const sid = 1 + 2 * r;
    const endStream = rng.next() < 0.3;
    const cuts = [0, ...Array.from({ length: rng.int(0, 3) }, () => rng.int(0, block.length + 1)).sort((a, b) => a - b), block.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const part = block.subarray(cuts[i], cuts[i + 1]);
      const last = i + 2 === cuts.length;
      if (i > 0) {
        input.push(frame(FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, sid, part));
        continue;
      }
      const pad = rng.next() < 0.4 ? rng.int(0, 20) : undefined;
      const prio = rng.next() < 0.3 ? Buffer.from([0, 0, 0, 0, rng.int(0, 256)]) : undefined;
      const flags = (last ? Flag.END_HEADERS : 0) | (endStream ? Flag.END_STREAM : 0) | (pad !== undefined ? Flag.PADDED : 0) | (prio ? Flag.PRIORITY : 0);
      const payload = Buffer.concat([
        pad !== undefined ? Buffer.from([pad]) : Buffer.alloc(0), prio ?? Buffer.alloc(0), part, Buffer.alloc(pad ?? 0),
      ]);
      input.push(frame(FrameType.HEADERS, flags, sid, payload));
    }
    const others: Buffer[] = [];
    if (!endStream) {
      for (let i = rng.int(0, 3); i >= 0; i--) {
        const body = Buffer.from(Array.from({ length: rng.int(0, 3000) }, () => rng.int(0, 256)));
        others.push(frame(FrameType.DATA, i === 0 ? Flag.END_STREAM : 0, sid, body));
      }
    }
    if (rng.next() < 0.3) others.push(frame(FrameType.PING, 0, 0, Buffer.alloc(8, r)));
    if (rng.next() < 0.3) others.push(frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 1, 0])));
    input.push(...others);
    expectedOther.push(...others);
  }
  const bytes = Buffer.concat(input);
  const rewriter = new ClientStreamRewriter({ dropFirstSettingsAck: true, fallbackAuthority: FALLBACK });
  const outParts: Buffer[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const n = rng.next() < 0.5 ? rng.int(1, 16) : rng.int(1, 5000);
    outParts.push(...rewriter.push(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  const { preface, frames } = parse(Buffer.concat(outParts));
  assert.deepEqual(preface, CLIENT_PREFACE);
  const server = new HpackDecoder();
  const assembler = new HeaderBlockAssembler();
  const gotBlocks: Array<Array<[string, string, boolean]>> = [];
  const gotOther: Buffer[] = [];
  for (const f of frames) {
    assert.ok(f.h.length <= FRAME_PAYLOAD_BYTES_DEFAULT);
    if (f.h.type === FrameType.HEADERS || f.h.type === FrameType.CONTINUATION) {
      assert.equal(f.h.flags & Flag.PADDED, 0);
      const b = assembler.add(f.h, f.payload);
      if (b) gotBlocks.push(server.decode(b.fragment).map((x) => [x.name, x.value.toString('latin1'), x.never]));
    } else {
      gotOther.push(Buffer.concat([frameHeader(f.h.length, f.h.type, f.h.flags, f.h.streamId), f.payload]));
    }
  }
  const repaired = expectedBlocks.map((fields) =>
    repairFields(fields.map(([name, value, never]) => ({ name, value: Buffer.from(value, 'latin1'), never })), Buffer.from(FALLBACK))
      .map((x): [string, string, boolean] => [x.name, x.value.toString('latin1'), x.never]),
  );
  assert.deepEqual(gotBlocks, repaired);
  assert.deepEqual(gotOther, expectedOther);
  assert.equal(server.tableBytes, 0);
}

test('randomized streams: every header block repaired, every other frame byte for byte', () => {
  const start = Number(process.env.RS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`# randomized rewriter streams: seeds ${start}..${start + RANDOM_STREAMS - 1} (replay one with RS_SEED=<seed>)`);
  const runs = process.env.RS_SEED === undefined ? RANDOM_STREAMS : 1;
  for (let seed = start; seed < start + runs; seed++) {
    try {
      checkRandomStream(seed);
    } catch (err) {
      (err as Error).message = `seed ${seed}: ${(err as Error).message}`;
      throw err;
    }
  }
});
