// HPACK decoding against RFC 7541's own examples and against what Node's nghttp2 encoder
// sends, and the literal-only encoder round trip.

import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { connect, constants as h2 } from 'node:http2';
import { test } from 'node:test';
import { FRAME_HEADER_BYTES, FrameType, HeaderBlockAssembler, readFrameHeader } from './h2-frames.js';
import { huffmanCode, huffmanDecode } from './hpack-huffman.js';
import { HpackDecoder, HpackError, encodeLiteralBlock, type HeaderField } from './hpack.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const plain = (fields: HeaderField[]): Array<[string, string]> => fields.map((f) => [f.name, f.value.toString('latin1')]);

test('huffman codes derived from the lengths match RFC 7541 Appendix B', () => {
  // [symbol, code as hex aligned to LSB, bits], as printed in the RFC.
  const rows: Array<[number, number, number]> = [
    [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [32, 0x14, 6],
    [47, 0x18, 6], [48, 0x0, 5], [58, 0x5c, 7], [88, 0xfc, 8], [92, 0x7fff0, 19], [97, 0x3, 5],
    [126, 0x1ffd, 13], [127, 0xffffffc, 28], [128, 0xfffe6, 20], [195, 0x7fff1, 19], [203, 0x7ffffde, 27],
    [228, 0x3fffe9, 22], [249, 0xffffffe, 28], [254, 0x7fffff0, 27], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
  ];
  for (const [sym, code, bits] of rows) assert.deepEqual(huffmanCode(sym), { code, bits }, `symbol ${sym}`);
});

test('huffman decoding: RFC examples, and its errors', () => {
  assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff')).toString(), 'www.example.com');
  assert.equal(huffmanDecode(hex('a8eb 1064 9cbf')).toString(), 'no-cache');
  assert.equal(huffmanDecode(hex('25a8 49e9 5ba9 7d7f')).toString(), 'custom-key');
  assert.equal(huffmanDecode(hex('6402')).toString(), '302');
  assert.throws(() => huffmanDecode(hex('ffff ffff')), /EOS/); // 30 one-bits: the EOS symbol
  assert.throws(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f400')), /padding/); // zero padding
  assert.throws(() => huffmanDecode(hex('07ff')), /padding/); // 'o' + a full byte of padding
});

test('RFC 7541 C.3: three requests without huffman share the dynamic table', () => {
  const d = new HpackDecoder();
  assert.deepEqual(plain(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'))), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'],
  ]);
  assert.equal(d.tableBytes, 57);
  assert.deepEqual(plain(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'))), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache'],
  ]);
  assert.equal(d.tableBytes, 110);
  assert.deepEqual(plain(d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'))), [
    [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value'],
  ]);
  assert.equal(d.tableBytes, 164);
});

test('RFC 7541 C.4: the same requests with huffman', () => {
  const d = new HpackDecoder();
  d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'));
  d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'));
  const third = d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'));
  assert.deepEqual(plain(third).at(-1), ['custom-key', 'custom-value']);
  assert.equal(d.tableBytes, 164);
});

test('RFC 7541 C.5: eviction with a 256-byte table', () => {
  const d = new HpackDecoder(256);
  d.decode(hex('3fe1 01')); // size update to 256 (5-bit prefix, 256 - 31 = 225 = 0xe1 0x01)
  d.decode(hex('4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
  assert.equal(d.tableBytes, 222);
  const second = d.decode(hex('4803 3330 37c1 c0bf'));
  assert.deepEqual(plain(second), [
    [':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com'],
  ]);
  assert.equal(d.tableBytes, 222); // ":status: 302" was evicted for ":status: 307"
});

test('decoding errors are HpackError, never a crash', () => {
  const cases: Array<[string, RegExp]> = [
    ['80', /index 0/],
    ['be', /beyond the dynamic table/],
    ['82 20', /size update after a header field/],
    ['3fe2 1f', /4097 above the 4096 allowed/],
    ['410f 7777', /past the end/],
    ['ff', /inside an integer/],
    ['ff ff ff ff ff ff 01', /too long/],
  ];
  for (const [block, message] of cases) {
    assert.throws(() => new HpackDecoder().decode(hex(block)), (e: Error) => e instanceof HpackError && message.test(e.message), block);
  }
});

test('encodeLiteralBlock: decodes to the same fields and leaves the table empty', () => {
  const fields: HeaderField[] = [
    { name: ':authority', value: Buffer.from('127.0.0.1:2379'), never: false },
    { name: 'x-long', value: Buffer.alloc(300, 'v'), never: false },
    { name: 'authorization', value: Buffer.from('secret'), never: true },
  ];
  const d = new HpackDecoder();
  const back = d.decode(encodeLiteralBlock(fields));
  assert.deepEqual(back, fields);
  assert.equal(d.tableBytes, 0);
});

/** The header blocks Node's http2 client (nghttp2's encoder: huffman, indexing) sends. */
async function captureClientBlocks(requests: Array<Record<string, string>>): Promise<Buffer[]> {
  let received = Buffer.alloc(0);
  let sock: Socket | undefined;
  const server = createServer((s) => {
    sock = s;
    s.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  for (const r of requests) client.request(r, { endStream: true }).on('error', () => undefined);
  // Until every HEADERS frame has arrived (nghttp2 writes them without waiting for the server).
  for (let i = 0; i < 200; i++) {
    if (countFrames(received, FrameType.HEADERS) >= requests.length) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  client.destroy();
  sock?.destroy();
  server.close();
  const blocks: Buffer[] = [];
  const assembler = new HeaderBlockAssembler();
  forEachFrame(received, (h, payload) => {
    if (h.type === FrameType.HEADERS || h.type === FrameType.CONTINUATION) {
      const b = assembler.add(h, payload);
      if (b) blocks.push(b.fragment);
    }
  });
  return blocks;
}

function forEachFrame(all: Buffer, fn: (h: ReturnType<typeof readFrameHeader>, payload: Buffer) => void): void {
  let pos = 24; // the client preface
  while (all.length - pos >= FRAME_HEADER_BYTES) {
    const h = readFrameHeader(all, pos);
    if (all.length - pos < FRAME_HEADER_BYTES + h.length) return;
    fn(h, all.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + h.length));
    pos += FRAME_HEADER_BYTES + h.length;
  }
}

function countFrames(all: Buffer, type: number): number {
  let n = 0;
  forEachFrame(all, (h) => {
    if (h.type === type) n++;
  });
  return n;
}

test("decodes nghttp2's encoding (huffman, dynamic table) of real requests", async () => {
  const reqs = [
    { [h2.HTTP2_HEADER_PATH]: '/etcdserverpb.KV/Range', 'content-type': 'application/grpc', 'user-agent': 'grpc-go/1.26.0', te: 'trailers', 'x-note': 'ünïcode? no: latin1 ~!@#$%^&*()' },
    { [h2.HTTP2_HEADER_PATH]: '/etcdserverpb.KV/Put', 'content-type': 'application/grpc', 'user-agent': 'grpc-go/1.26.0', te: 'trailers', 'x-bin': '\u00ff\u00fe\u0080' },
  ];
  const blocks = await captureClientBlocks(reqs);
  assert.equal(blocks.length, 2);
  const d = new HpackDecoder();
  for (const [i, block] of blocks.entries()) {
    const got = new Map(d.decode(block).map((f) => [f.name, f.value.toString('latin1')]));
    for (const [k, v] of Object.entries(reqs[i]!)) assert.equal(got.get(k), Buffer.from(v, 'latin1').toString('latin1'), k);
    assert.equal(got.get(':method'), 'GET');
  }
});
