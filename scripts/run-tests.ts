// Runs every *.test.ts under the source folders with node:test through tsx.
// Node 20's --test takes no globs, so this lists the files.
// Files named *.solo.test.ts measure latency (etcdctl check perf): they run after all the
// others, one at a time, so that no other test's cluster competes with them for the 2 cores.
// Usage: tsx scripts/run-tests.ts [substring ...]   (only files whose path contains a substring)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const SOURCE_DIRS = ['server', 'client', 'cluster', 'chaos', 'proto', 'test', 'scripts'];
/**
 * Files run at once. The machine has 2 cores and cluster tests start real processes, but at 2
 * the suite left 20 % of both cores idle (160 % CPU: files waiting on elections, lease TTLs
 * and timers); at 3, 181 % (session 13: tests 531 s in a local run, 528 and 462 s in two
 * clean-clone CI runs, against 590 s local and 618 s in CI at 2).
 */
const TEST_CONCURRENCY = Number(process.env.TEST_CONCURRENCY ?? 3);

function listTests(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listTests(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(ROOT, path));
  }
}

/**
 * Files that take longest (top-level test time in a clean-clone CI run, session 12: 255 s of
 * chaos runs down to ~30 s), started first: node:test runs files in the order given, as many
 * at once as TEST_CONCURRENCY, so a long file started last would run alone at the end
 * (longest first keeps both workers busy until near the end). A file not listed runs after
 * these, in path order; a listed file that no longer exists is passed over.
 */
const LONGEST_FIRST = [
  'chaos/runner/chaos-edge.test.ts',
  'chaos/runner/chaos.test.ts',
  'chaos/runner/chaos-crdt.test.ts',
  'test/etcd3-suite.test.ts',
  'test/etcd-differential.test.ts',
  'test/tls.test.ts',
  'test/storage-faults.test.ts',
  'test/gateway.test.ts',
  'test/snapshot-install.test.ts',
  'test/edge.test.ts',
  'client/watch.test.ts',
  'test/client-port.test.ts',
  'test/install.test.ts',
];

function rank(f: string): number {
  const i = LONGEST_FIRST.indexOf(f);
  return i === -1 ? LONGEST_FIRST.length : i;
}

function longestFirst(paths: string[]): string[] {
  return [...paths].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Long runs `npm test` leaves to their own npm scripts, which .ci/run runs after it (the
 * default suite's budget is 10 minutes on the 2-core CI machine; session 12 measured 834 s
 * with these in it). A run with path filters (`npm run test:only -- ...`, and those scripts)
 * includes them when a filter names them.
 */
const OWN_SCRIPT: Readonly<Record<string, string>> = Object.freeze({
  // A timed check (no request slower than 0.5 s): it measures the machine as much as the store.
  'test/etcdctl-check-perf.solo.test.ts': 'test:perf',
  // The etcd3 npm client's own mocha suite against a cluster (issue 10: "in CI").
  'test/etcd3-suite.test.ts': 'test:clients',
  // The crdt workload's chaos pair (issue 13), beside the other teeth.
  'chaos/runner/chaos-crdt.test.ts': 'test:teeth',
  // npm pack + npm install -g of the tree, then a cluster of the installed commands (issue 10):
  // 28-30 s of the default suite, most of it npm's own CPU.
  'test/install.test.ts': 'test:install',
});

const filters = process.argv.slice(2);
const found: string[] = [];
for (const dir of SOURCE_DIRS) listTests(join(ROOT, dir), found);
const files = longestFirst(found);
const selected = filters.length === 0 ? files.filter((f) => OWN_SCRIPT[f] === undefined) : files.filter((f) => filters.some((s) => f.includes(s)));
if (filters.length === 0) {
  const left = files.filter((f) => OWN_SCRIPT[f] !== undefined).map((f) => `${f} (npm run ${OWN_SCRIPT[f]})`);
  if (left.length > 0) console.log(`run-tests: left to their own scripts, which .ci/run runs: ${left.join(', ')}`);
}
if (selected.length === 0) {
  console.error(`no test files match ${JSON.stringify(filters)}`);
  process.exit(1);
}

/**
 * Loaded into every test file's process (node:test passes --import on to them): it ends the
 * process at its 'exit' event, so Node's teardown cannot hang a finished file (see the file).
 */
const EXIT_AT_ONCE = join(ROOT, 'test/helpers/exit-at-once.ts');

function runPhase(phaseFiles: string[], concurrency: number): number {
  if (phaseFiles.length === 0) return 0;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', EXIT_AT_ONCE, '--test', `--test-concurrency=${concurrency}`, ...phaseFiles],
    { cwd: ROOT, stdio: 'inherit' },
  );
  return result.status ?? 1;
}

const isSolo = (f: string): boolean => f.endsWith('.solo.test.ts');
const sharedStatus = runPhase(selected.filter((f) => !isSolo(f)), TEST_CONCURRENCY);
const soloStatus = runPhase(selected.filter(isSolo), 1);
process.exit(sharedStatus !== 0 ? sharedStatus : soloStatus);
