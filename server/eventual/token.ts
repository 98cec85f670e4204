// The mv causal-context token: what a Read hands out with a key's siblings and a write sends
// back to replace them. Opaque to clients; here `v1.` + base64url of (origin, seq) pairs in
// origin order. A token that does not parse is refused (INVALID_ARGUMENT) at apply, where
// every member decides the same.

import { BinReader, BinWriter } from '../mvcc/index.js';
import { EvError } from './entry.js';

const TOKEN_PREFIX = 'v1.';
/** Origins a token may name: far above any real vector, small enough to parse cheaply. */
export const CONTEXT_TOKEN_ORIGINS_MAX = 10_000;

export function formatContextToken(token: Readonly<Record<string, number>>): string {
  const entries = Object.entries(token).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return '';
  const w = new BinWriter().uint(entries.length);
  for (const [o, s] of entries) w.string(o).uint(s);
  return TOKEN_PREFIX + Buffer.from(w.finish()).toString('base64url');
}

function bad(why: string): EvError {
  return new EvError('invalid-argument', `malformed context token (${why}): send back the token a Read returned for this key, unchanged, or none`);
}

export function parseContextToken(text: string): Record<string, number> {
  if (text === '') return {};
  if (!text.startsWith(TOKEN_PREFIX)) throw bad('unknown format');
  const body = text.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw bad('not base64url');
  try {
    const r = new BinReader(Buffer.from(body, 'base64url'));
    const n = r.uint();
    if (n > CONTEXT_TOKEN_ORIGINS_MAX) throw bad('too many origins');
    const out = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const o = r.string();
      const s = r.uint();
      if (o === '' || !Number.isSafeInteger(s) || s < 1) throw bad('bad entry');
      out.set(o, s);
    }
    if (!r.done) throw bad('trailing bytes');
    // fromEntries defines own properties: an origin named "__proto__" stays an entry.
    return Object.fromEntries(out);
  } catch (e) {
    if (e instanceof EvError) throw e;
    throw bad('truncated');
  }
}
