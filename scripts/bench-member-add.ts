// Snapshot catch-up speed: a 3-member cluster loaded with --keys keys (16-byte keys,
// 256-byte values, written in multi-put txns), then `member add` + start of a fourth
// member; prints the time until its applied index reaches the leader's, the snapshots the
// leader sent and the joiner's bytes on disk. Issue 20 measured 38.9 s here for 1M keys
// (etcd: 2.6 s).
//
//   tsx scripts/bench-member-add.ts [--keys 100000] [--profile DIR] [--keep]
//
// --profile DIR: every member runs with `node --cpu-prof` and writes its profile to DIR
// when stopped (the leader's is the sender's, the joiner's the receiver's).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { serveCommandFromEnv, startCluster } from '../cluster/launcher.js';
import { pickFreePorts } from '../cluster/ports.js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    profile: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const KEYS = Number(args.keys);
/** Puts per txn while loading (etcd's default max-txn-ops is 128). */
const PUTS_PER_TXN = 100;
const TXNS_IN_FLIGHT = 8;
const VALUE_BYTES = 256;
/** Small, so the load passes several log compactions and the joiner needs a snapshot. */
const SNAPSHOT_COUNT = 1000;
/** Entries kept after a compaction: few, so the joiner cannot be served from the log. */
const CATCHUP_ENTRIES = 100;
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;
const CATCHUP_TIMEOUT_MS = 600_000;
const UNAVAILABLE_CODE = 14;
/** Attempts per txn while loading: a put txn retried after a leader change may apply twice,
 *  which is harmless here (the same keys and values). */
const LOAD_ATTEMPTS = 10;

const dataDir = mkdtempSync(join(tmpdir(), 'rs-bench-member-add-'));
const profileDir = args.profile === undefined ? undefined : resolve(args.profile);
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
// --cpu-prof is refused in NODE_OPTIONS: it goes on each member's command line.
const serve = serveCommandFromEnv();
const command = profileDir === undefined ? serve
  : { ...serve, args: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...serve.args] };
const flags = ['--heartbeat-ms', String(HEARTBEAT_MS), '--election-ms', String(ELECTION_MS),
  '--snapshot-count', String(SNAPSHOT_COUNT), '--snapshot-catchup-entries', String(CATCHUP_ENTRIES), '--log-level', process.env.MA_LOG ?? 'warn'];

const cluster = await startCluster({ dataDir, nodes: 3, ready: 'healthy', readyTimeoutMs: 60_000, extraArgs: flags, command, onLine: () => {} });
const c = rawClient(cluster.nodes[0]!.clientUrl.replace('http://', ''));
let joiner: ReturnType<typeof spawn> | undefined;
try {
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  const t0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: TXNS_IN_FLIGHT }, async () => {
    while (next < KEYS) {
      const start = next;
      next = Math.min(KEYS, next + PUTS_PER_TXN);
      const success: Array<{ requestPut: { key: Buffer; value: Buffer } }> = [];
      for (let i = start; i < next; i++) {
        success.push({ requestPut: { key: Buffer.from(`key-${String(i).padStart(12, '0')}`), value } });
      }
      await retrying(() => c.unary('KV', 'Txn', { compare: [], success, failure: [] }));
    }
  }));
  console.log(`loaded ${KEYS} keys in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const [clientPort, peerPort, metricsPort] = await pickFreePorts(3);
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const added = await c.unary('Cluster', 'MemberAdd', { peerURLs: [peerUrl] });
  const initialCluster = added.members
    .map((m: any) => `${String(m.ID) === String(added.member.ID) ? 'n4' : m.name}=${m.peerURLs[0]}`).join(',');
  const addedAt = Date.now();
  joiner = spawn(command.executable, [
    ...command.args, '--name', 'n4', '--data-dir', join(dataDir, 'n4'),
    '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', initialCluster, '--initial-cluster-state', 'existing',
    '--initial-cluster-token', cluster.file.token, '--metrics-addr', `127.0.0.1:${metricsPort}`, ...flags,
  ], { cwd: command.cwd, stdio: 'inherit' });

  const jc = rawClient(`127.0.0.1:${clientPort}`);
  const leaderIndex = Number((await c.unary('Maintenance', 'Status', {})).raftIndex);
  let caughtUpMs: number | undefined;
  while (Date.now() - addedAt < CATCHUP_TIMEOUT_MS) {
    const applied = await status(jc).then((s) => Number(s.raftAppliedIndex), () => 0);
    if (applied >= leaderIndex) {
      caughtUpMs = Date.now() - addedAt;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  jc.close();
  const sent = await Promise.all(cluster.nodes.map((n) => metric(n.metricsUrl, 'regionstore_snapshots_sent_total')));
  const received = await metric(`http://127.0.0.1:${metricsPort}`, 'regionstore_snapshots_received_total');
  console.log(JSON.stringify({
    keys: KEYS, caughtUpSeconds: caughtUpMs === undefined ? null : caughtUpMs / 1000, leaderIndex,
    snapshotsSentPerMember: sent, snapshotsReceivedByJoiner: received,
  }));
} finally {
  c.close();
  if (joiner !== undefined) {
    const exited = new Promise((r) => joiner!.once('exit', r));
    joiner.kill('SIGTERM');
    await exited;
  }
  await cluster.stop();
  if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
  else console.log(`data kept in ${dataDir}`);
}

/** Retries a call refused as UNAVAILABLE (a leader change under load), a few times. */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if ((err as { code?: number }).code !== UNAVAILABLE_CODE || attempt >= LOAD_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function status(client: RawClient): Promise<any> {
  return client.unary('Maintenance', 'Status', {});
}

async function metric(url: string, name: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  } catch {
    return -1;
  }
}
