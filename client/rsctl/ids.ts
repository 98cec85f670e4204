// Member and lease ids as etcdctl shows and takes them: hexadecimal, without 0x.

import { idToHex } from '../index.js';
import { UsageError } from './args.js';

/** A hex id from the command line → the decimal string the client takes. */
export function parseHexId(text: string, what: string, command: string): string {
  const s = text.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(s)) throw new UsageError(`${what} must be a hex id as rsctl prints it (e.g. 8e9e05c52164694d), got ${JSON.stringify(text)}`, command);
  return BigInt(`0x${s}`).toString(10);
}

export function hex(id: string): string {
  return idToHex(id);
}
