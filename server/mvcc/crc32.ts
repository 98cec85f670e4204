// CRC-32 (IEEE). zlib's native crc32 (Node 20.15+, 22.2+) where present: HashKV runs it over
// every revision record, and the table-driven loop below is ~20× slower. Both compute the
// same function, so members on either agree.

import * as zlib from 'node:zlib';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The table-driven CRC of `data` continuing from `crc` (0 to start). */
export function crc32Js(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC of `data` continuing from `crc` (0 to start). */
export const crc32: (data: Uint8Array, crc?: number) => number = native === undefined ? crc32Js : (data, crc = 0) => native(data, crc);
