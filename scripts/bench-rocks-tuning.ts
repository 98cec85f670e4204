// RocksDB settings compared on the state database's workload (issue 20: RocksDB's share of a
// put at 1M keys): runs scripts/bench-mvcc-scale.ts (one MvccStore in process, bench:scale's
// scattered keys and random values) once per variant and round, and prints per stage the CPU
// per put of each thread group (main; V8's workers; libuv's pool, where the binding's
// getMany and writes run RocksDB's memtable inserts and reads; RocksDB's compaction and flush
// threads) and RocksDB's compaction and flush bytes per put. CPU per put holds up on a loaded
// machine where rates do not; `--parallel` runs a round's variants at once, so each pair
// shares the same load.
//
//   npx tsx scripts/bench-rocks-tuning.ts --variant new \
//     --variant 'old:state.writeBufferMiB=64,state.rsLevel0CompactionTrigger=4,state.rsLevel0SlowdownTrigger=20,state.rsLevel0StopTrigger=36' \
//     --variant 'unc2:rsUncompressedLevels=2' [--stages 200000,600000,1000000] [--rounds 2] [--parallel]
//
// A variant is `name[:TUNING[:WRITE_BUFFER_MIB]]`: TUNING is REGIONSTORE_ROCKSDB_TUNING's
// `name=value,...` (`;` works as the separator too; server/storage/rocksdb-tuning.ts: rs*
// names, writeBufferMiB, compression; the store opens as a member's state database, so
// `state.` names apply), WRITE_BUFFER_MIB the memtable size (bench-mvcc-scale
// --write-buffer-mb; else STATE_WRITE_BUFFER_BYTES). Needs the release build of RocksDB for
// rs* names (the prebuilt binary ignores them). RocksDB's statistics (rsStatistics) make each
// filter probe dearer: a variant with more level-0 files measured 6 µs per put worse with
// them on and 0.9 better with them off, so compare CPU with statistics off.

import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: ['base'] },
    stages: { type: 'string', default: '200000,600000,1000000' },
    rounds: { type: 'string', default: '1' },
    parallel: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

interface Variant { name: string; tuning: string; writeBufferMiB: string }
const variants: Variant[] = args.variant.map((v) => {
  const [name = '', tuning = '', wb = ''] = v.split(':');
  return { name, tuning, writeBufferMiB: wb };
});

/** Thread groups by bench-mvcc-scale's names: V8's platform workers are node#2-5, libuv's
 *  pool node#7-10 on Node 20 (bench-mvcc-scale.ts says which rank is which). */
function group(thread: string): string {
  if (thread === 'main') return 'main';
  if (thread.startsWith('rocksdb:low')) return 'compaction';
  if (thread.startsWith('rocksdb:high')) return 'flush';
  const rank = /^node#(\d+)$/.exec(thread)?.[1];
  if (rank !== undefined && Number(rank) >= 2 && Number(rank) <= 5) return 'v8';
  if (rank !== undefined && Number(rank) >= 7 && Number(rank) <= 10) return 'pool';
  return 'other';
}
const GROUPS = ['main', 'v8', 'pool', 'compaction', 'flush', 'other'] as const;

type Row = Record<string, number | string>;
function run(v: Variant): Promise<Row[]> {
  const flags = ['--expose-gc', '--import', 'tsx', 'scripts/bench-mvcc-scale.ts', '--stages', args.stages, '--scatter', '--random-values'];
  if (v.writeBufferMiB !== '') flags.push('--write-buffer-mb', v.writeBufferMiB);
  const env = { ...process.env, REGIONSTORE_ROCKSDB_TUNING: v.tuning.replace(/;/g, ',') };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, flags, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`variant ${v.name}: bench-mvcc-scale exited with ${code}`));
      resolve(out.split('\n').filter((l) => l.startsWith('{"keys"')).map((l) => JSON.parse(l) as Row));
    });
  });
}

function summary(v: Variant, round: number, rows: Row[], load: string): Row[] {
  return rows.map((r) => {
    const g: Record<string, number> = Object.fromEntries(GROUPS.map((k) => [k, 0]));
    for (const [k, val] of Object.entries(r)) {
      if (k.startsWith('stageUsPerPut:')) g[group(k.slice('stageUsPerPut:'.length))]! += Number(val);
    }
    for (const k of GROUPS) g[k] = Math.round(g[k]! * 10) / 10;
    const total = Object.values(g).reduce((a, b) => a + b, 0);
    return {
      variant: v.name, round, keys: r.keys as number, 'µs/put': Math.round(total * 10) / 10, ...g,
      'compact R+W B/put': Number(r.compactReadB) + Number(r.compactWriteB), 'flush B/put': r.flushB as number,
      L0: r.l0Files as number, levels: r.levels as string, rssMiB: r.rssMiB as number, load,
    };
  });
}

const all: Row[] = [];
for (let round = 1; round <= Number(args.rounds); round++) {
  const order = round % 2 === 1 ? variants : [...variants].reverse();
  const load0 = loadavg()[0]!.toFixed(1);
  const runOne = async (v: Variant): Promise<void> => {
    const rows = await run(v);
    const s = summary(v, round, rows, `${load0}-${loadavg()[0]!.toFixed(1)}`);
    all.push(...s);
    console.error(`round ${round} ${v.name} done`);
  };
  if (args.parallel) await Promise.all(order.map(runOne));
  else for (const v of order) await runOne(v);
}
all.sort((a, b) => Number(a.keys) - Number(b.keys) || String(a.variant).localeCompare(String(b.variant)) || Number(a.round) - Number(b.round));
console.log(`variants: ${variants.map((v) => `${v.name} = ${v.tuning || 'defaults'}${v.writeBufferMiB ? `, ${v.writeBufferMiB} MiB memtable` : ''}`).join('; ')}`);
console.table(all);
if (args.json) console.log(JSON.stringify(all));
