// Storage faults (issue 19, DESIGN.md §5) on a real 3-member cluster with real RocksDB:
// a stopped member's data directory is damaged in each way the issue names, then the
// member is started again. Each time: it never serves wrong data (UNAVAILABLE until
// repaired), it repairs itself (the same HashKV and every key as its peers) or, when its
// raft/ cannot be read, refuses to start naming the file and the recovery; it never dies
// of a signal; nothing it could not read is deleted; the other members keep every key.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, writeFileSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { RocksEngine, currentStateDirName, raftDir } from '../server/storage/index.js';
import { raftEntryKey } from '../server/storage/keys.js';
import { RaftLogStore } from '../server/storage/raft-log-store.js';
import { chooseRocksdbBinding } from '../server/storage/rocksdb-binding.js';

/** Which native build the members run (REGIONSTORE_ROCKSDB_BINDING=prebuilt runs these cases on the package's own binary). */
const binding = chooseRocksdbBinding();
import type { ClusterNode } from '../cluster/launcher.js';
import { eventually, run, startTestCluster, type TestCluster } from './helpers/cluster.js';

/** Small snapshot spacing: the logs are compacted, so a lost state needs the leader's snapshot. */
const SNAPSHOT_COUNT = 200;
const CATCHUP_ENTRIES = 50;
const K_KEYS = 1000;
/** Big values for a while: the memtables (16 MiB) flush, so both databases hold SST files. */
const BIG_KEYS = 1200;
const BIG_VALUE_BYTES = 16 * 1024;
const WRITE_CONCURRENCY = 16;
const REPAIR_TIMEOUT_MS = 60_000;

let cluster: TestCluster;
/** Every line each member printed, by name. */
const lines = new Map<string, string[]>();
const b = (s: string): Buffer => Buffer.from(s);

before(async () => {
  cluster = await startTestCluster({
    extraArgs: ['--snapshot-count', String(SNAPSHOT_COUNT), '--snapshot-catchup-entries', String(CATCHUP_ENTRIES), '--log-level', 'info'],
    onLine: (name, line) => {
      const l = lines.get(name) ?? [];
      l.push(line);
      lines.set(name, l);
    },
  });
  const c = client(cluster.nodes[0]!);
  try {
    await putMany(c, K_KEYS, (i) => [`k${i}`, `v${i}`]);
    await putMany(c, BIG_KEYS, (i) => [`p4/${String(i).padStart(5, '0')}`, randomBytes(BIG_VALUE_BYTES / 2).toString('hex')]);
  } finally {
    c.close();
  }
});
after(async () => {
  // Kept for a person when a case failed: RS_FAULTS_LOG_DIR=<dir> writes every member's output there.
  const logDir = process.env.RS_FAULTS_LOG_DIR;
  if (logDir !== undefined) {
    mkdirSync(logDir, { recursive: true });
    for (const [name, l] of lines) writeFileSync(join(logDir, `${name}.log`), l.join('\n'));
  }
  await cluster?.cleanup();
});

function client(n: ClusterNode): RawClient {
  return rawClient(n.clientUrl.replace('http://', ''));
}

async function putMany(c: RawClient, count: number, kv: (i: number) => [string, string]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, async () => {
    while (next < count) {
      const [k, v] = kv(next++);
      await c.unary('KV', 'Put', { key: b(k), value: b(v) });
    }
  }));
}

/** Puts that land in both databases' WALs (no flush before the stop): each an apply batch and a log append. */
const WAL_PUTS = 300;
const WAL_VALUE_BYTES = 1024;

async function fillWals(n: ClusterNode, tag: string): Promise<void> {
  const c = client(n);
  try {
    await putMany(c, WAL_PUTS, (i) => [`wal/${tag}/${i}`, randomBytes(WAL_VALUE_BYTES / 2).toString('hex')]);
  } finally {
    c.close();
  }
}

/** The WAL files of the database in `dir` holding records (RocksDB leaves a new, empty one at each open). */
function walsOf(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.log') && statSync(join(dir, f)).size > 0).map((f) => join(dir, f));
}

async function revisionOf(c: RawClient): Promise<number> {
  return Number((await c.unary('KV', 'Range', { key: b('k0') })).header.revision);
}

async function hashAt(c: RawClient, revision: number): Promise<string | undefined> {
  try {
    return String((await c.unary('Maintenance', 'HashKV', { revision })).hash);
  } catch {
    return undefined;
  }
}

async function metric(n: ClusterNode, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${n.metricsUrl}/metrics`)).text();
  return text.split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Overwrites `len` bytes around `at` (a fraction of its size; the middle by default) of `file` with random ones. */
function scribble(file: string, len: number, at = 0.5): void {
  const size = statSync(file).size;
  const n = Math.min(len, size);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, randomBytes(n), 0, n, Math.max(0, Math.floor(size * at) - Math.floor(n / 2)));
  } finally {
    closeSync(fd);
  }
}

async function stateDir(n: ClusterNode): Promise<string> {
  return join(n.dataDir, await currentStateDirName(n.dataDir));
}

async function pickFollower(): Promise<{ follower: ClusterNode; other: ClusterNode }> {
  const leader = await eventually('a leader', () => cluster.leader(), 20_000);
  const follower = cluster.nodes.find((n) => n.name !== leader)!;
  return { follower, other: cluster.nodes.find((n) => n.name === leader)! };
}

/**
 * Starts `n` (damaged) and checks: while it repairs, reads through it fail (never an
 * answer without the keys); then it has every k* key and the same HashKV as `peer`.
 */
async function restartAndCheckRepair(n: ClusterNode, peer: ClusterNode, what: string): Promise<number> {
  const t0 = Date.now();
  const c = client(n);
  const pc = client(peer);
  // Polls reads while it starts: an answer must hold every key (or the read fails).
  const poll = { on: true };
  let wrongAnswers = 0;
  let refused = 0;
  const poller = (async () => {
    while (poll.on) {
      try {
        const r = await c.unary('KV', 'Range', { key: b('k'), rangeEnd: b('l'), countOnly: true, serializable: true });
        if (Number(r.count) !== K_KEYS) wrongAnswers++;
      } catch (err) {
        refused++;
        if (/storage repair/.test(String(err))) repairShown.unavailable++;
        await noteRepairShown(n);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await cluster.restart(n.name).catch(() => undefined); // ready = healthy: a repair may outlast it
    const revision = await revisionOf(pc);
    const expected = await hashAt(pc, revision);
    assert.ok(expected !== undefined);
    await eventually(`${n.name} to repair (${what})`, async () => ((await hashAt(c, revision)) === expected ? true : undefined), REPAIR_TIMEOUT_MS, 200);
    const ms = Date.now() - t0;
    poll.on = false;
    await poller;
    const count = await c.unary('KV', 'Range', { key: b('k'), rangeEnd: b('l'), countOnly: true });
    assert.equal(Number(count.count), K_KEYS, 'linearizable count through the repaired member');
    const big = await c.unary('KV', 'Range', { key: b('p4/'), rangeEnd: b('p40'), countOnly: true, serializable: true });
    assert.equal(Number(big.count), BIG_KEYS);
    assert.equal(wrongAnswers, 0, `${n.name} answered reads with missing keys while repairing`);
    const health = await (await fetch(`${n.metricsUrl}/health`)).json() as { health: string };
    assert.equal(health.health, 'true');
    console.log(`# ${what}: repaired in ${ms} ms (${refused} reads refused meanwhile, none wrong)`);
    return ms;
  } finally {
    poll.on = false;
    await poller;
    c.close();
    pc.close();
  }
}

/** How often a member in repair was seen saying so: UNAVAILABLE reads, /health, Status.errors. */
const repairShown = { unavailable: 0, health: 0, status: 0 };

async function noteRepairShown(n: ClusterNode): Promise<void> {
  try {
    const h = await (await fetch(`${n.metricsUrl}/health`)).json() as { health: string; reason?: string };
    if (h.health === 'false' && /storage repair/.test(h.reason ?? '')) repairShown.health++;
    const sc = client(n);
    try {
      const st = await sc.unary('Maintenance', 'Status', {});
      if ((st.errors as string[]).some((e) => /storage repair/.test(e))) repairShown.status++;
    } finally {
      sc.close();
    }
  } catch {
    /* not listening yet */
  }
}

function logOf(n: ClusterNode): string {
  return (lines.get(n.name) ?? []).join('\n');
}

test('a clean stop seals both databases; the restart skips reading them whole', async () => {
  const { follower } = await pickFollower();
  const seen = lines.get(follower.name) ?? [];
  const from = seen.length;
  await cluster.stopNode(follower.name);
  await cluster.restart(follower.name);
  const printed = (lines.get(follower.name) ?? []).slice(from);
  assert.ok(printed.some((l) => /databases sealed at a clean stop/.test(l)), printed.join('\n'));
  assert.equal(printed.filter((l) => /full read skipped/.test(l)).length, 2, printed.join('\n'));
});

test('state CURRENT and MANIFEST deleted on a follower: moved aside, rebuilt from the leader, never served', async () => {
  const { follower, other } = await pickFollower();
  await cluster.stopNode(follower.name);
  const sdir = await stateDir(follower);
  const filesBefore = filesUnder(sdir).filter((f) => !/\/(LOG|LOCK)/.test(f)).map((f) => f.slice(sdir.length));
  unlinkSync(join(sdir, 'CURRENT'));
  for (const f of readdirSync(sdir)) if (f.startsWith('MANIFEST-')) unlinkSync(join(sdir, f));
  const gone = new Set(['/CURRENT']);
  await restartAndCheckRepair(follower, other, 'state CURRENT+MANIFEST deleted (follower)');
  // Kept for the operator: every file that was left is still there, in the moved-aside dir.
  const aside = readdirSync(follower.dataDir).find((d) => d.includes('.damaged-'));
  assert.ok(aside !== undefined, 'the damaged state dir was moved aside');
  const kept = new Set(filesUnder(join(follower.dataDir, aside)).map((f) => f.slice(join(follower.dataDir, aside).length)));
  for (const f of filesBefore) if (!gone.has(f) && !f.startsWith('/MANIFEST-')) assert.ok(kept.has(f), `${f} was kept`);
  assert.ok(await metric(follower, 'regionstore_storage_repairs_total', 'db="state"') >= 1);
  assert.match(logOf(follower), /moved aside/);
});

test('random bytes in the state SSTs of a follower: found without an abort, rebuilt', async () => {
  const { follower, other } = await pickFollower();
  await cluster.stopNode(follower.name);
  const ssts = readdirSync(await stateDir(follower)).filter((f) => f.endsWith('.sst'));
  if (ssts.length === 0) {
    // The state's 64 MiB memtable may not have flushed yet. Bad bytes in a WAL record end
    // RocksDB's point-in-time replay there (paranoid checks, scripts/build-rocksdb.mjs): the
    // state opens as a prefix, at an older applied index, and the raft log completes it; the
    // prebuilt binary instead skipped the record and kept the batches after it (a hole).
    console.log('# no state SST to damage (the memtable never flushed): damaging the WAL instead');
    for (const f of readdirSync(await stateDir(follower)).filter((x) => x.endsWith('.log'))) scribble(join(await stateDir(follower), f), 4096);
  } else {
    for (const f of ssts) scribble(join(await stateDir(follower), f), 4096);
  }
  await restartAndCheckRepair(follower, other, `random bytes in ${ssts.length > 0 ? `${ssts.length} state SSTs` : 'the state WAL'} (follower)`);
  // RocksDB's abort happened in the check's child process (quoted in the log), not in the member.
  assert.ok(logOf(follower).split('\n').every((l) => !l.includes('Assertion') || l.startsWith('{')), 'the member never aborted');
  if (ssts.length > 0) assert.match(logOf(follower), /"reason":"corrupt"/);
});

test('a lost state dir on the former leader: rebuilt from the new leader', async () => {
  const leaderName = await eventually('a leader', () => cluster.leader(), 20_000);
  const leader = cluster.node(leaderName);
  await cluster.stopNode(leader.name);
  rmSync(await stateDir(leader), { recursive: true, force: true });
  const other = cluster.nodes.find((n) => n !== leader)!;
  await restartAndCheckRepair(leader, other, 'state dir lost (former leader)');
});

test('random bytes in the state WAL of the former leader (intact records after them): moved aside, rebuilt, never replayed around the hole', async () => {
  const leaderName = await eventually('a leader', () => cluster.leader(), 20_000);
  const leader = cluster.node(leaderName);
  await fillWals(leader, 'state');
  await cluster.stopNode(leader.name);
  const wals = walsOf(await stateDir(leader));
  assert.ok(wals.length > 0, 'the state has a WAL with records');
  // An eighth in: the batches written after the damaged one are intact (a hole, not a torn tail).
  for (const f of wals) scribble(f, 4096, 0.125);
  const seen = logOf(leader).length;
  const other = cluster.nodes.find((n) => n !== leader)!;
  await restartAndCheckRepair(leader, other, `random bytes in the state WAL (former leader, ${binding.kind} binding)`);
  const out = logOf(leader).slice(seen);
  assert.match(out, /"reason":"corrupt"/, out);
  assert.match(out, /WAL \d+\.log has a bad record/, out);
});

test('a rolled-back data dir (before 5 acknowledged puts): the same leader re-sends them', async () => {
  const { follower, other } = await pickFollower();
  await cluster.stopNode(follower.name);
  const copy = mkdtempSync(join(tmpdir(), 'rs-rollback-'));
  try {
    cpSync(follower.dataDir, copy, { recursive: true });
    await cluster.restart(follower.name);
    const c = client(other);
    const fc = client(follower);
    try {
      for (let i = 0; i < 5; i++) await c.unary('KV', 'Put', { key: b(`rolled/${i}`), value: b(String(i)) });
      // The follower acknowledged them: it holds them.
      await eventually('the follower to hold the 5 puts', async () => {
        const r = await fc.unary('KV', 'Range', { key: b('rolled/'), rangeEnd: b('rolled0'), countOnly: true, serializable: true });
        return Number(r.count) === 5 ? true : undefined;
      }, 20_000);
    } finally {
      c.close();
      fc.close();
    }
    await cluster.stopNode(follower.name);
    rmSync(follower.dataDir, { recursive: true, force: true });
    cpSync(copy, follower.dataDir, { recursive: true });
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  await restartAndCheckRepair(follower, other, 'data dir rolled back 5 acknowledged puts (follower)');
  const fc = client(follower);
  try {
    const r = await fc.unary('KV', 'Range', { key: b('rolled/'), rangeEnd: b('rolled0'), countOnly: true });
    assert.equal(Number(r.count), 5);
  } finally {
    fc.close();
  }
  const errors = (lines.get(follower.name) ?? []).filter((l) => l.includes('"level":50'));
  assert.ok(errors.length < 5, `no error-log flood: ${errors.length} error lines`);
});

test('a truncated raft log tail (the hard state says more was committed): caught up, never a panic', async () => {
  const { follower, other } = await pickFollower();
  await cluster.stopNode(follower.name);
  const engine = await RocksEngine.open(raftDir(follower.dataDir), { create: false });
  try {
    const log = await RaftLogStore.open(engine);
    const last = log.lastIndex();
    const lose = Math.min(5, last - log.firstIndex());
    await engine.write(Array.from({ length: lose }, (_, i) => ({ type: 'del' as const, key: raftEntryKey(last - i) })), { sync: true });
  } finally {
    await engine.close();
  }
  await restartAndCheckRepair(follower, other, 'raft log tail truncated (follower)');
});

test('a raft/ that cannot be read (the former leader) is refused with the file and the recovery named, twice, and nothing is changed', async () => {
  // The leader, stopped: it is the former leader when refused, reseeded and caught up.
  const target = cluster.node(await eventually('a leader', () => cluster.leader(), 20_000));
  await fillWals(target, 'raft');
  await cluster.stopNode(target.name);
  const rdir = raftDir(target.dataDir);
  const sdir = await stateDir(target);
  const backup = mkdtempSync(join(tmpdir(), 'rs-raft-backup-'));
  cpSync(rdir, backup, { recursive: true });
  /** What a start must leave as it was: the files of both databases (the seal is our note about them, and the check removes it). */
  const files = (): string[] => [...filesUnder(rdir), ...filesUnder(sdir)].filter((f) => !/\/(LOG|LOCK|REGIONSTORE_SEAL)/.test(f)).sort();
  const kinds = ['CURRENT deleted', 'CURRENT and MANIFEST deleted in both databases', 'random bytes in the SSTs', 'random bytes in the WAL'] as const;
  try {
    for (const damage of kinds) {
      if (damage === 'CURRENT deleted') unlinkSync(join(rdir, 'CURRENT'));
      else if (damage === 'CURRENT and MANIFEST deleted in both databases') {
        // Issue 19's fourth finding: a failed first start deleted raft/000008.sst and wrote a
        // new CURRENT, and the second stopped on an assertion. Now both starts refuse alike.
        for (const d of [rdir, sdir]) for (const f of readdirSync(d)) if (f === 'CURRENT' || f.startsWith('MANIFEST-')) unlinkSync(join(d, f));
      } else if (damage === 'random bytes in the WAL') {
        // Intact records after the damage: log entries (or a vote) lost from the middle. The
        // release build would open the prefix before it, the prebuilt binary the rest around
        // it; the WAL check (wal-check.ts) refuses it with either.
        const wals = walsOf(rdir);
        assert.ok(wals.length > 0, `raft/ has a WAL with records: ${readdirSync(rdir).join(' ')}`);
        for (const f of wals) scribble(f, 4096, 0.125);
      } else {
        if (binding.kind !== 'release') {
          // A raft SST holds mostly entries compacted away since (deleted, never read again).
          // The release build's iterators verify every block they pass; the prebuilt binary's
          // do not, and getMany reads only live keys, so its start-up read can miss bad bytes
          // there (seen: a follower refused, a former leader started). A compaction reading
          // them later fails the member (counted as db="raft") or, on this binary, may abort.
          console.log('# SKIPPING raft SST damage with the prebuilt binding: its start-up read cannot see bad bytes in blocks of deleted entries');
          continue;
        }
        const ssts = readdirSync(rdir).filter((f) => f.endsWith('.sst'));
        if (ssts.length === 0) {
          console.log('# no raft SST to damage');
          continue;
        }
        for (const f of ssts) scribble(join(rdir, f), 4096);
      }
      const filesBefore = files();
      const starts = damage === 'CURRENT and MANIFEST deleted in both databases' ? 2 : 1;
      for (let start = 1; start <= starts; start++) {
        const seen = logOf(target).length;
        await assert.rejects(cluster.restart(target.name));
        const n = cluster.node(target.name);
        const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
          if (n.process.exitCode !== null || n.process.signalCode !== null) resolve({ code: n.process.exitCode, signal: n.process.signalCode });
          else n.process.once('exit', (code, signal) => resolve({ code, signal }));
        });
        assert.equal(exit.signal, null, `${damage}: never a signal death`);
        assert.notEqual(exit.code, 0);
        const out = logOf(target).slice(seen);
        assert.match(out, /refusing to start/, out);
        assert.ok(out.includes(rdir), `${damage}: the message names ${rdir}: ${out}`);
        assert.match(out, /member reseed|member remove/, 'the recovery is named');
        assert.ok(!/AssertionError|Assertion .* failed/.test(out), `${damage}: no assertion: ${out}`);
        assert.deepEqual(files(), filesBefore, `${damage}: nothing changed (start ${start})`);
        console.log(`# raft ${damage}: start ${start} refused: ${out.split('\n').find((l) => l.includes('refusing'))?.slice(0, 300)}`);
      }
      if (damage !== 'random bytes in the WAL') {
        // Put the good copy back for the next kind of damage (the state stays as it is: the
        // reseed below moves it aside, and a damaged raft/ is refused before it is looked at).
        rmSync(rdir, { recursive: true, force: true });
        cpSync(backup, rdir, { recursive: true });
      }
    }
  } finally {
    rmSync(backup, { recursive: true, force: true });
  }
  // The recovery the message names: reseed from the peers, start again.
  const others = cluster.nodes.filter((n) => n !== target).map((n) => n.clientUrl).join(',');
  const cmd = cluster.serveCommand;
  const reseed = await run(cmd.executable, [...cmd.args.slice(0, -1), 'member', 'reseed', '--data-dir', target.dataDir, '--endpoints', others]);
  assert.equal(reseed.code, 0, reseed.stderr);
  console.log(`# ${reseed.stdout.trim().split('\n')[0]}`);
  const aside = readdirSync(target.dataDir).find((d) => d.startsWith('reseed-aside-'));
  assert.ok(aside !== undefined && existsSync(join(target.dataDir, aside, 'raft')), 'the damaged raft/ is kept');
  const other = cluster.nodes.find((n) => n !== target)!;
  await restartAndCheckRepair(target, other, 'raft/ unreadable, reseeded (former leader)');
});

test('a member in repair said so: UNAVAILABLE with the reason, /health false, Status.errors', () => {
  console.log(`# seen while repairing: ${JSON.stringify(repairShown)}`);
  assert.ok(repairShown.unavailable > 0 && repairShown.health > 0 && repairShown.status > 0, JSON.stringify(repairShown));
});

/** Why the running-member case cannot show what it shows (the prebuilt binding), or undefined. */
const liveDamageSkip = ((): string | undefined => {
  return binding.kind === 'release' ? undefined : `the rocksdb release build is not there (${binding.reason}): with the prebuilt binding a corrupt block may abort the member or be served`;
})();
if (liveDamageSkip !== undefined) console.error(`\n!!! SKIPPING the running-member SST case: ${liveDamageSkip} !!!\n`);

test('random bytes in a state SST while a member runs: a clear error, counted, not served, never a signal death; repaired at its restart', { skip: liveDamageSkip }, async () => {
  const { follower, other } = await pickFollower();
  // A clean restart: the WAL is flushed into an SST and the block cache is cold, so the
  // scan below reads the damaged blocks from the file.
  await cluster.restart(follower.name);
  const sdir = await stateDir(follower);
  const ssts = readdirSync(sdir).filter((f) => f.endsWith('.sst'));
  assert.ok(ssts.length > 0, `the state has SSTs: ${readdirSync(sdir).join(' ')}`);
  // A quarter, half and three quarters in: whatever the layout, HashKV's scan meets one.
  for (const f of ssts) for (const at of [0.25, 0.5, 0.75]) scribble(join(sdir, f), 4096, at);
  const seen = logOf(follower).length;
  const c = client(follower);
  let err: unknown;
  try {
    // HashKV at the oldest revision kept reads every record above it (a scan: checksums
    // verified by the release build); at the current one it reads nothing (a running sum).
    const now = await c.unary('Maintenance', 'HashKV', { revision: 0 });
    await c.unary('Maintenance', 'HashKV', { revision: Math.max(1, Number(now.compactRevision ?? 0)) });
  } catch (e) {
    err = e;
  } finally {
    c.close();
  }
  assert.ok(err !== undefined, 'HashKV over damaged blocks answered');
  assert.match(String(err), /UNAVAILABLE|14/);
  assert.match(String(err), /storage corruption: Corruption:/);
  // The member stops (exit 1: a supervisor restarts it, and the start-up check repairs).
  // Until it has exited, what it says about itself is checked when it still answers.
  const shown: string[] = [];
  try {
    const h = await (await fetch(`${follower.metricsUrl}/health`)).json() as { health: string; reason?: string };
    assert.equal(h.health, 'false');
    assert.match(h.reason ?? '', /storage corruption/);
    shown.push('/health false');
    assert.ok(await metric(follower, 'regionstore_storage_corruptions_total', 'db="state"') >= 1);
    shown.push('counted');
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    shown.push('already stopped');
  }
  const n = cluster.node(follower.name);
  const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    if (n.process.exitCode !== null || n.process.signalCode !== null) resolve({ code: n.process.exitCode, signal: n.process.signalCode });
    else n.process.once('exit', (code, signal) => resolve({ code, signal }));
  });
  assert.equal(exit.signal, null, 'never a signal death');
  assert.equal(exit.code, 1);
  const out = logOf(follower).slice(seen);
  assert.match(out, /storage corruption found while running/, out);
  assert.ok(!/Assertion .* failed/.test(out), 'no native assertion');
  console.log(`# live SST damage: ${String(err).slice(0, 200)}; seen before the exit: ${shown.join(', ')}`);
  const peerCount = await metric(other, 'regionstore_storage_corruptions_total');
  await restartAndCheckRepair(follower, other, `random bytes in ${ssts.length} state SSTs while running (follower)`);
  assert.ok(await metric(follower, 'regionstore_storage_corruptions_total', 'db="state"') >= 1, 'the start-up check counted it');
  assert.equal(await metric(other, 'regionstore_storage_corruptions_total'), peerCount, 'the peer found nothing');
});
