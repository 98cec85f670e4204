import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAYLOAD_HEADER_BYTES, PayloadKind, decodePayload, encodePayload, writePayloadHeader } from './entry-payload.js';

test('entry payload: the documented byte layout, and a round trip', () => {
  const body = Uint8Array.of(7, 8, 9);
  const data = encodePayload(PayloadKind.Mvcc, 0x1f_2e3d_4c5b_6a79, 42, body);
  // [u8 version=1][u8 kind][u64 BE proposer][u64 BE counter][body]: entries already in
  // logs on disk were written this way and must still decode.
  assert.equal(Buffer.from(data).toString('hex'), ['0101', '001f2e3d4c5b6a79', '000000000000002a', '070809'].join(''));
  assert.equal(data.length, PAYLOAD_HEADER_BYTES + body.length);
  const p = decodePayload(data);
  assert.deepEqual({ ...p, body: [...p!.body] }, { kind: PayloadKind.Mvcc, proposer: 0x1f_2e3d_4c5b_6a79, counter: 42, body: [7, 8, 9] });
  assert.equal(decodePayload(new Uint8Array(0)), undefined, 'a leader no-op');
  assert.throws(() => decodePayload(Uint8Array.of(9, 1)), /unknown format \(version byte 9, 2 bytes\)/);
});

test('entry payload: writePayloadHeader over a body encoded after the header makes encodePayload\'s bytes', () => {
  for (const body of [new Uint8Array(0), Uint8Array.of(7, 8, 9), new Uint8Array(300).map((_, i) => i & 0xff)]) {
    const inPlace = new Uint8Array(PAYLOAD_HEADER_BYTES + body.length).fill(0xee);
    inPlace.set(body, PAYLOAD_HEADER_BYTES);
    const out = writePayloadHeader(inPlace, PayloadKind.AuthedMvcc, 2 ** 53 - 1, 123_456_789);
    assert.equal(out, inPlace, 'written in place');
    assert.deepEqual(out, encodePayload(PayloadKind.AuthedMvcc, 2 ** 53 - 1, 123_456_789, body));
  }
  assert.throws(() => writePayloadHeader(new Uint8Array(PAYLOAD_HEADER_BYTES - 1), PayloadKind.Mvcc, 1, 1), /no room for the header/);
});
