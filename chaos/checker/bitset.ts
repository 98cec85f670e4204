// The set of operations linearized so far, with a hash kept up to date on every change
// (Zobrist hashing: the hash is the XOR of a fixed random word per member), so that the
// memo cache can look a configuration up without hashing the whole set each step.

function mix32(x: number): number {
  // splitmix32's finaliser: spreads consecutive integers over all 32 bits.
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export class Bitset {
  readonly words: Uint32Array;
  /** XOR of mix32(i) over the members i. */
  hash = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
    this.hash = (this.hash ^ mix32(i)) >>> 0;
  }

  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    this.hash = (this.hash ^ mix32(i)) >>> 0;
  }
}

interface CacheEntry {
  words: Uint32Array;
  state: number;
}

/**
 * The memo of Lowe's search: (linearized set, model state) pairs already explored. Reaching
 * one again cannot lead anywhere new, so the search backtracks instead.
 */
export class ConfigCache {
  private readonly buckets = new Map<number, CacheEntry[]>();
  /** Approximate bytes held, to bound memory. */
  bytes = 0;
  private readonly entryBytes: number;

  constructor(setSize: number) {
    // A copy of the words plus the entry object and its slot in a bucket.
    this.entryBytes = Math.ceil(setSize / 32) * 4 + 64;
  }

  /** Adds (set, state); false when it was already there. */
  add(set: Bitset, state: number): boolean {
    const key = (set.hash ^ mix32(state ^ 0x5bd1e995)) >>> 0;
    const bucket = this.buckets.get(key);
    if (bucket !== undefined) {
      for (const e of bucket) {
        if (e.state === state && sameWords(e.words, set.words)) return false;
      }
    }
    const entry = { words: set.words.slice(), state };
    if (bucket === undefined) this.buckets.set(key, [entry]);
    else bucket.push(entry);
    this.bytes += this.entryBytes;
    return true;
  }
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
