// Randomized: RaftLogStore on real RocksDB against a plain model, through random appends
// (with truncations), hard states, snapshots, compactions, installed snapshots and
// reopens, with saves left in flight between checks. Prints its seed; replay with
// RAFT_LOG_STORE_SEED=<seed>.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { ConfState, Entry, HardState } from '../raft/types.js';
import { SeededRandom } from '../util/random.js';
import type { Engine } from './engine.js';
import { RaftLogStore } from './raft-log-store.js';
import { openRocksEngine } from './rocksdb-engine.js';

const OPS_PER_RUN = 400;
const RUNS = 3;
const APPEND_ENTRIES_MAX = 6;
const ENTRY_DATA_BYTES_MAX = 24;
/** Tiny slabs (entry-slabs.ts): a few entries fill one, so appends, truncations and
 *  compactions cross slab boundaries and free slabs all the time. */
const SLAB_BYTES = 64;

/** The model: every entry by index, plus the compaction point and the latest snapshot. */
interface Model {
  offset: { index: number; term: number };
  entries: Map<number, Entry>;
  last: number;
  hardState: HardState;
  snap: { index: number; term: number; confState: ConfState; data: Uint8Array };
}

function termOf(m: Model, i: number): number {
  return i === m.offset.index ? m.offset.term : (m.entries.get(i) as Entry).term;
}

function check(store: RaftLogStore, m: Model): void {
  assert.equal(store.firstIndex(), m.offset.index + 1, 'firstIndex');
  assert.equal(store.lastIndex(), m.last, 'lastIndex');
  for (let i = m.offset.index; i <= m.last; i++) assert.equal(store.term(i), termOf(m, i), `term(${i})`);
  const want = [];
  for (let i = m.offset.index + 1; i <= m.last; i++) want.push(m.entries.get(i));
  assert.deepEqual(store.entries(m.offset.index + 1, m.last + 1, Infinity), want, 'entries');
  assert.deepEqual(store.initialState(), { hardState: m.hardState, confState: m.snap.confState }, 'initialState');
  const s = store.snapshot();
  assert.deepEqual(s.metadata, { index: m.snap.index, term: m.snap.term, confState: m.snap.confState }, 'snapshot');
  assert.deepEqual(s.data, m.snap.data, 'snapshot data');
}

function randomBytes(rng: SeededRandom): Uint8Array {
  return Uint8Array.from({ length: rng.int(0, ENTRY_DATA_BYTES_MAX + 1) }, () => rng.int(0, 256));
}

function randomConf(rng: SeededRandom): ConfState {
  return { voters: [1, 2, rng.int(3, 6)], learners: rng.chance(0.3) ? [9] : [] };
}

class Run {
  private pending: Array<Promise<unknown>> = [];
  private term = 1;

  constructor(
    private readonly rng: SeededRandom,
    private readonly m: Model,
    private store: RaftLogStore,
    private engine: Engine,
    private readonly dir: string,
  ) {}

  async step(): Promise<void> {
    const r = this.rng.next();
    if (r < 0.55) this.append();
    else if (r < 0.65) this.hardStateOnly();
    else if (r < 0.75) this.createSnapshot();
    else if (r < 0.85) this.compact();
    else if (r < 0.9) this.installSnapshot();
    else await this.reopen();
    if (this.rng.chance(0.3)) await this.settle();
    check(this.store, this.m);
  }

  async settle(): Promise<void> {
    await Promise.all(this.pending);
    this.pending = [];
  }

  async close(): Promise<void> {
    await this.settle();
    await this.engine.close();
  }

  private issue(p: Promise<unknown>): void {
    this.pending.push(p);
  }

  private append(): void {
    const { m, rng } = this;
    // Start anywhere from just below the compaction point to just past the end; entries up
    // to the snapshot are committed, so those are re-sent unchanged, as a leader would.
    const start = rng.int(Math.max(1, m.offset.index - 1), m.last + 2);
    if (rng.chance(0.3)) this.term++;
    const entries: Entry[] = [];
    // A batch that starts inside the snapshot reaches past it: the store refuses to
    // truncate below its snapshot (those entries are committed).
    const n = Math.max(rng.int(1, APPEND_ENTRIES_MAX + 1), m.snap.index - start + 1);
    for (let i = start; i < start + n; i++) {
      const committed = i <= m.snap.index ? m.entries.get(i) : undefined;
      entries.push(committed ?? { index: i, term: this.term, type: 0, data: randomBytes(rng) });
    }
    const hardState = rng.chance(0.5) ? this.nextHardState() : undefined;
    // Model: skip compacted entries, truncate at the first new one, append.
    const last = start + n - 1;
    if (last > m.offset.index) {
      for (let i = m.last; i >= Math.max(start, m.offset.index + 1); i--) m.entries.delete(i);
      for (const e of entries) if (e.index > m.offset.index) m.entries.set(e.index, e);
      m.last = last;
    }
    if (hardState !== undefined) m.hardState = hardState;
    this.issue(this.store.save({ entries, hardState }, rng.chance(0.7)));
  }

  private nextHardState(): HardState {
    return { term: this.term, vote: this.rng.int(0, 4), commit: this.rng.int(0, this.m.last + 1) };
  }

  private hardStateOnly(): void {
    this.m.hardState = this.nextHardState();
    this.issue(this.store.save({ entries: [], hardState: this.m.hardState }, true));
  }

  private createSnapshot(): void {
    const { m, rng } = this;
    if (m.last <= m.snap.index) return;
    const index = rng.int(m.snap.index + 1, m.last + 1);
    const confState = randomConf(rng);
    const data = randomBytes(rng);
    m.snap = { index, term: termOf(m, index), confState, data };
    this.issue(this.store.createSnapshot(index, confState, data));
  }

  private compact(): void {
    const { m, rng } = this;
    if (m.snap.index <= m.offset.index) return;
    const index = rng.int(m.offset.index + 1, m.snap.index + 1);
    const term = termOf(m, index);
    for (let i = m.offset.index + 1; i <= index; i++) m.entries.delete(i);
    m.offset = { index, term };
    this.issue(this.store.compact(index));
  }

  private installSnapshot(): void {
    const { m, rng } = this;
    const index = Math.max(m.snap.index + 1, m.last + rng.int(-2, 10));
    this.term++;
    const confState = randomConf(rng);
    const data = randomBytes(rng);
    m.entries.clear();
    m.offset = { index, term: this.term };
    m.last = index;
    m.snap = { index, term: this.term, confState, data };
    this.issue(this.store.applySnapshot({ metadata: { index, term: this.term, confState }, data }, rng.chance(0.5)));
  }

  private async reopen(): Promise<void> {
    await this.close();
    this.engine = await openRocksEngine(this.dir);
    this.store = await RaftLogStore.open(this.engine, { slabBytes: SLAB_BYTES });
  }
}

it('RaftLogStore matches a model through random appends, truncations, compactions and reopens', async () => {
  const base = Number(process.env['RAFT_LOG_STORE_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`raft-log-store random: seed=${base} (replay with RAFT_LOG_STORE_SEED=${base})`);
  const root = await mkdtemp(join(tmpdir(), 'regionstore-raftlog-rand-'));
  try {
    for (let r = 0; r < RUNS; r++) {
      const seed = base + r;
      const dir = join(root, `run${r}`);
      const engine = await openRocksEngine(dir);
      const model: Model = {
        offset: { index: 0, term: 0 },
        entries: new Map(),
        last: 0,
        hardState: { term: 0, vote: 0, commit: 0 },
        snap: { index: 0, term: 0, confState: { voters: [], learners: [] }, data: new Uint8Array(0) },
      };
      const run = new Run(new SeededRandom(seed), model, await RaftLogStore.open(engine, { slabBytes: SLAB_BYTES }), engine, dir);
      let op = 0;
      try {
        for (; op < OPS_PER_RUN; op++) await run.step();
      } catch (err) {
        // The test reporter drops `cause`, so the original message goes in the text.
        const why = err instanceof Error ? (err.stack ?? err.message) : String(err);
        throw new Error(`failed at op ${op} of run seed=${seed}; reproduce with RAFT_LOG_STORE_SEED=${base}\n${why}`, { cause: err });
      } finally {
        await run.close().catch(() => undefined);
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
