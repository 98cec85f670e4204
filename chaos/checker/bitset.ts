// The set of operations linearized so far, with two hashes kept up to date on every
// change (Zobrist hashing: a hash is the XOR of a fixed random word per member), so that
// the memo can look a configuration up without hashing the whole set each step.
//
// Two memos: ConfigCache keeps each set whole (exact; costs n/8 bytes per entry), and
// FingerprintCache keeps 64 bits of hash per entry (8 bytes in a typed-array table, so
// tens of millions fit). A fingerprint collision would make the search skip a
// configuration it never explored, which can only turn "ok" into "violation", never the
// other way; so a violation found with fingerprints is re-checked exactly on its (small)
// window before anyone is told (window.ts).

/** splitmix32's finaliser: spreads consecutive integers over all 32 bits. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export class Bitset {
  readonly words: Uint32Array;
  /** XOR of mix32(i) over the members i. */
  hash = 0;
  /** XOR of mix32(i ^ SALT2) over the members: a second, independent hash. */
  hash2 = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
    this.flip(i);
  }

  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    this.flip(i);
  }

  private flip(i: number): void {
    this.hash = (this.hash ^ mix32(i)) >>> 0;
    this.hash2 = (this.hash2 ^ mix32(i ^ SALT2)) >>> 0;
  }
}

const SALT2 = 0x6a09e667;
const STATE_SALT = 0x5bd1e995;
const STATE_SALT2 = 0x27d4eb2f;

/** A memo of (set, state) configurations; add() says whether it was new. */
export interface Memo {
  add(set: Bitset, state: number): boolean;
  /** Approximate bytes held, to bound memory. */
  readonly bytes: number;
}

interface CacheEntry {
  words: Uint32Array;
  state: number;
}

/**
 * The memo of Lowe's search: (linearized set, model state) pairs already explored. Reaching
 * one again cannot lead anywhere new, so the search backtracks instead.
 */
export class ConfigCache implements Memo {
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
    const key = (set.hash ^ mix32(state ^ STATE_SALT)) >>> 0;
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

/** Initial slots of a FingerprintCache (a power of two). */
const FINGERPRINT_SLOTS_INITIAL = 1 << 16;

/** 64-bit fingerprints of configurations in an open-addressing table (see module comment). */
export class FingerprintCache implements Memo {
  /** Pairs of words per slot; (0, 0) is an empty slot (fingerprints never are). */
  private table = new Uint32Array(2 * FINGERPRINT_SLOTS_INITIAL);
  private count = 0;

  get bytes(): number {
    return this.table.byteLength;
  }

  add(set: Bitset, state: number): boolean {
    const a = (set.hash ^ mix32(state ^ STATE_SALT)) >>> 0;
    const b = ((set.hash2 ^ mix32(state ^ STATE_SALT2)) | 1) >>> 0;
    if (!this.insert(a, b)) return false;
    this.count++;
    if (this.count * 2 > this.table.length / 2) this.grow();
    return true;
  }

  private insert(a: number, b: number): boolean {
    const mask = this.table.length / 2 - 1;
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      const x = this.table[2 * slot]!;
      const y = this.table[2 * slot + 1]!;
      if (y === 0) {
        this.table[2 * slot] = a;
        this.table[2 * slot + 1] = b;
        return true;
      }
      if (x === a && y === b) return false;
    }
  }

  /** Doubles the table, keeping the load under a half so that probes stay short. */
  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] !== 0) this.insert(old[i]!, old[i + 1]!);
    }
  }
}
