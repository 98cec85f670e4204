// Start-to-serving time of a local 3-member cluster, members run through tsx (the sources)
// or from dist/ (the build the launcher uses when it is fresh): from spawning the three
// processes until every client port accepts ('listening') and until every member's /health
// says true, i.e. a leader is elected and the members serve ('healthy').
//
//   npm run -s build && npx tsx scripts/bench-startup.ts [--rounds 3]
//
// Rounds alternate tsx and dist so that a change in the machine's load hits both alike.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { distFreshness } from '../cluster/dist-build.js';
import { DIST_SERVE_COMMAND, REPO_ROOT, TSX_SERVE_COMMAND, startCluster, type ReadyWhen, type ServeCommand } from '../cluster/launcher.js';

const ROUNDS_DEFAULT = 3;

async function startOnce(command: ServeCommand, ready: ReadyWhen): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rs-startup-'));
  const t0 = performance.now();
  const cluster = await startCluster({ dataDir, nodes: 3, command, ready, onLine: () => {}, extraArgs: ['--log-level', 'warn'] });
  const ms = performance.now() - t0;
  await cluster.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: String(ROUNDS_DEFAULT) } } });
const rounds = Number(values.rounds);
const fresh = distFreshness(REPO_ROOT);
if (!fresh.fresh) {
  console.error(`dist/ is not fresh: ${fresh.why}`);
  process.exit(1);
}
const results: Record<string, Record<ReadyWhen, number[]>> = {
  tsx: { spawned: [], listening: [], healthy: [] },
  dist: { spawned: [], listening: [], healthy: [] },
};
for (let r = 0; r < rounds; r++) {
  for (const [name, cmd] of [['tsx', TSX_SERVE_COMMAND], ['dist', DIST_SERVE_COMMAND]] as const) {
    for (const ready of ['listening', 'healthy'] as const) {
      const ms = await startOnce(cmd, ready);
      results[name]![ready].push(ms);
      console.error(`round ${r + 1} ${name} ${ready}: ${ms.toFixed(0)} ms`);
    }
  }
}
console.log('| members run from | to listening, median ms | to healthy, median ms |');
console.log('|---|---|---|');
for (const name of ['tsx', 'dist']) {
  const r = results[name]!;
  console.log(`| ${name} | ${median(r.listening).toFixed(0)} (${r.listening.map((x) => x.toFixed(0)).join(', ')}) | ${median(r.healthy).toFixed(0)} (${r.healthy.map((x) => x.toFixed(0)).join(', ')}) |`);
}
