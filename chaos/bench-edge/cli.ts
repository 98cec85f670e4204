// `npm run bench:edge` (issue 14): edge sync against PouchDB replication on one workload.
// regionstore: a 3-member region and one `regionstore edge` process, the edge dialling the
// region through a counting TCP proxy (chaos/proxy); PouchDB: an express-pouchdb server
// process and a PouchDB client database, replicating through the same kind of proxy.
// LevelDB/RocksDB with fsync on every side. Per run size N: N small events written on the
// local replica while it is cut off, then connect (seconds to convergence, events/s, bytes
// on the wire per event up + down); then 1k more while cut off again (resume bytes per
// event); on the first size, live single writes timed until the region's Watch (PouchDB:
// the server's change feed) shows them. Prints a Markdown table with the issue's goals.
//
//   npm run bench:edge -- [--events 10000,100000] [--live 1000] [--warmup 2000]
//       [--systems regionstore,pouchdb] [--json FILE] [--keep]
//
// It lives in chaos/ rather than cluster/ because it uses chaos/proxy (cluster/ may import
// only client/ and server/util, DESIGN §7) and PouchDB, a dev dependency (cluster/ is
// compiled into the installed package; chaos/ is not).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPouchSystem } from './pouch.js';
import { startRegionstoreSystem } from './regionstore.js';
import { renderTable } from './report.js';
import { LIVE_WRITES_DEFAULT, SIZES_DEFAULT, WARMUP_EVENTS_DEFAULT, runSystem, type SystemRun } from './run.js';
import { SYSTEM_IDS, type BenchSystem, type SystemId } from './system.js';
import { DEVICES, EVENTS_PER_WRITE } from './workload.js';

/** 128 + SIGINT, as a shell reports a Ctrl-C. */
const INTERRUPTED_EXIT_CODE = 130;
/** Seeds the proxies' (unused) jitter; fixed so runs are alike. */
const SEED = 14;

interface Args {
  sizes: number[];
  liveWrites: number;
  warmupEvents: number;
  systems: SystemId[];
  jsonFile?: string;
  keep: boolean;
}

function wholeNumber(flag: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag} needs a whole number >= ${min}, got ${String(v)}`);
  return n;
}

export function parseArgs(argv: readonly string[]): Args {
  const a: Args = { sizes: [...SIZES_DEFAULT], liveWrites: LIVE_WRITES_DEFAULT, warmupEvents: WARMUP_EVENTS_DEFAULT, systems: [...SYSTEM_IDS], keep: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const v = argv[i + 1];
    const list = (): string[] => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (flag === '--keep') {
      a.keep = true;
      continue;
    }
    if (flag === '--events') a.sizes = list().map((s) => wholeNumber(flag, s, 1));
    else if (flag === '--live') a.liveWrites = wholeNumber(flag, v, 0);
    else if (flag === '--warmup') a.warmupEvents = wholeNumber(flag, v, 0);
    else if (flag === '--systems') a.systems = list() as SystemId[];
    else if (flag === '--json') a.jsonFile = resolve(v ?? '');
    else throw new Error(`unknown flag ${flag}; see the top of chaos/bench-edge/cli.ts`);
    i++;
  }
  const bad = a.systems.filter((s) => !SYSTEM_IDS.includes(s));
  if (bad.length > 0 || a.systems.length === 0) throw new Error(`--systems takes ${SYSTEM_IDS.join(', ')}; got ${a.systems.join(',')}`);
  if (a.sizes.length === 0) throw new Error('--events needs at least one size');
  return a;
}

function log(line: string): void {
  console.error(`[bench:edge] ${line}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-edge-'));
  log(`data, logs: ${dir}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  let current: BenchSystem | undefined;
  process.once('SIGINT', () => {
    log('interrupted: stopping');
    void (current?.stop() ?? Promise.resolve()).finally(() => {
      if (!args.keep) rmSync(dir, { recursive: true, force: true });
      process.exit(INTERRUPTED_EXIT_CODE);
    });
  });
  const started = new Date();
  const runs: SystemRun[] = [];
  try {
    for (const id of args.systems) {
      const system = id === 'pouchdb' ? await startPouchSystem(join(dir, 'pouchdb'), log, SEED) : await startRegionstoreSystem(join(dir, 'regionstore'), log, SEED);
      current = system;
      try {
        runs.push(await runSystem(system, { sizes: args.sizes, liveWrites: args.liveWrites, warmupEvents: args.warmupEvents, log }));
      } finally {
        await system.stop().catch((err: unknown) => log(`stopping ${id}: ${String(err)}`));
        current = undefined;
      }
    }
    const settings = `${started.toISOString()}; region of 3 members + 1 edge vs express-pouchdb + PouchDB client, all on 127.0.0.1, fsync on every side; ` +
      `events of ${DEVICES} devices like {"c":21.3}, written ${EVENTS_PER_WRITE} per write while offline; ${args.warmupEvents > 0 ? `each system warmed up by a sync of ${args.warmupEvents} events first (not measured)` : 'no warm-up (cold servers)'}; bytes counted by a TCP proxy between the two sides`;
    process.stdout.write(`\nedge sync vs PouchDB replication, ${settings}\n\n${renderTable(runs)}`);
    if (args.jsonFile !== undefined) writeFileSync(args.jsonFile, JSON.stringify({ started, settings, runs }, null, 2));
    if (runs.some((r) => r.error !== undefined)) process.exitCode = 1;
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench:edge failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}).finally(() => {
  // A cancelled PouchDB live replication keeps retry timers and sockets alive: the run is
  // over once the table is printed.
  process.exit();
});
