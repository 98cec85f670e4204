// The :authority repair on frames built by hand: padding, priority, CONTINUATION, dynamic
// table references and size updates, the dropped SETTINGS ACK, any split of the input.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientStreamRewriter, isValidAuthority, repairAuthority } from './authority-fix.js';
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
  const rw = new ClientStreamRewriter({ dropFirstSettingsAck: true, fallbackAuthority: FALLBACK });
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) out.push(...rw.push(input.subarray(i, i + chunk)));
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
