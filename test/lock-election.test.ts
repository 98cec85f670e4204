// `etcdctl lock` / `etcdctl elect` (Debian's etcdctl 3.4) and etcd's Lock and Election
// gRPC services against a 3-member regionstore cluster, and the same scripts against a
// 3-member etcd (Debian's etcd-server) with the transcripts compared line by line.
// etcdctl's lock and elect run etcd's client-side recipes over KV, Watch and Lease; the
// gRPC part calls the server-side services (v3lockpb, v3electionpb) directly.
//
// Each script waits on states, never on the clock: "the second contender waits" is
// checked once its key is queued under the prefix, "released on lease expiry" by waiting
// (up to RELEASE_WAIT_MS) for the next holder after the holder's etcdctl is killed -9.
// Lease ids appear in keys (name/<lease hex>); transcripts name them <L1>, <L2>, ... in
// order of appearance, and show revisions relative to a base read at the start.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials, makeGenericClientConstructor, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadConcurrencyServices } from '../server/api/proto.js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { startEtcd, startRegionstore, type Target } from './differential/targets.js';
import { etcdctl, haveTool } from './helpers/cluster.js';

const HAVE_ETCDCTL = haveTool('etcdctl', 'etcd-client');
const HAVE_ETCD = HAVE_ETCDCTL && haveTool('etcd', 'etcd-server');

/** TTL of the lock sessions (etcdctl lock --ttl): how long a killed holder keeps the lock. */
const LOCK_TTL_SECONDS = 4;
/** How long a state a script waits for may take (a lease expiry included), on a loaded machine. */
const STATE_WAIT_MS = 30_000;
const POLL_MS = 50;
/** The deadline of the gRPC Lock call that is left to expire while waiting. */
const CANCELLED_LOCK_DEADLINE_MS = 500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean> | boolean, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + STATE_WAIT_MS;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await sleep(POLL_MS);
  }
}

/** Every etcdctl a script started: killed after the tests, so a failed script leaves none behind. */
const started = new Set<ChildProcess>();

/** A long-running etcdctl (lock, elect) whose output is read while it runs. */
class Ctl {
  out = '';
  err = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  constructor(readonly label: string, endpoints: string, args: string[]) {
    this.child = spawn('etcdctl', [`--endpoints=${endpoints}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    started.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        started.delete(this.child);
        resolve(code);
      }),
    );
  }
  async printed(re: RegExp): Promise<string> {
    await until(`${this.label} to print ${re}`, () => re.test(this.out), () => `(stdout ${JSON.stringify(this.out)}, stderr ${JSON.stringify(this.err)})`);
    return this.out;
  }
  /** Signals the process and waits for its exit code (null: killed by the signal). */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

/** Names lease ids (hex in keys, decimal in fields) <L1>, <L2>, ... in order of appearance. */
class Leases {
  private readonly names = new Map<string, string>();
  private name(hex: string): string {
    let n = this.names.get(hex);
    if (n === undefined) this.names.set(hex, (n = `<L${this.names.size + 1}>`));
    return n;
  }
  key(k: string): string {
    return k.replace(/\/([0-9a-f]+)$/, (_, hex: string) => `/${this.name(hex)}`);
  }
  text(s: string): string {
    return s.replace(/^([^\n/]+)\/([0-9a-f]+)$/gm, (_, p: string, hex: string) => `${p}/${this.name(hex)}`);
  }
  id(dec: string): string {
    return this.name(BigInt(dec).toString(16));
  }
}

interface Run {
  target: Target;
  eps: string;
  ctl: (...args: string[]) => Promise<string>;
  keys: (prefix: string) => Promise<string[]>;
}

function runOn(target: Target): Run {
  const eps = target.hostPorts.join(',');
  const ctl = async (...args: string[]): Promise<string> => {
    const r = await etcdctl(eps, args);
    assert.equal(r.code, 0, `${target.system}: etcdctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // Oldest first: key order would depend on the lease ids' hex.
  const keys = async (prefix: string): Promise<string[]> =>
    (await ctl('get', '--prefix', prefix, '--keys-only', '--sort-by=CREATE')).split('\n').filter((l) => l !== '');
  return { target, eps, ctl, keys };
}

async function lockScript(r: Run): Promise<string[]> {
  const t: string[] = [];
  const L = new Leases();
  const lock = (label: string, ...args: string[]): Ctl => new Ctl(`${r.target.system} ${label}`, r.eps, ['lock', `--ttl=${LOCK_TTL_SECONDS}`, ...args]);
  const held = /^jobs\/[0-9a-f]+\n\n$/;

  const a = lock('A', 'jobs');
  t.push(`A holds: ${L.text(await a.printed(held))}`);
  const b = lock('B', 'jobs');
  await until(`${r.target.system}: B queued`, async () => (await r.keys('jobs/')).length === 2);
  t.push(`B queued, printed: ${JSON.stringify(b.out)}; keys: ${(await r.keys('jobs/')).map((k) => L.key(k)).join(' ')}`);
  t.push(`A exits on SIGTERM (unlocks): ${await a.stop('SIGTERM')}`);
  t.push(`B holds: ${L.text(await b.printed(held))}`);
  t.push(`B killed -9: ${await b.stop('SIGKILL')}`);
  const c = lock('C', 'jobs');
  // C gets the lock once B's lease expires (nobody renews it any more).
  t.push(`C holds after B's lease expired: ${L.text(await c.printed(held))}`);
  t.push(`C exits on SIGTERM: ${await c.stop('SIGTERM')}`);
  // The command runs while the lock is held, with the key in its environment; then unlocks.
  const exec = new Ctl(`${r.target.system} exec`, r.eps, ['lock', 'jobs', '--', 'sh', '-c', 'echo "running under $ETCD_LOCK_KEY"']);
  const code = await exec.exited;
  t.push(`lock with a command: code ${code}, ${L.text(exec.out.replace(/ under (\S+)/, ' under\n$1'))}${exec.err}`);
  t.push(`keys left: ${JSON.stringify(await r.keys('jobs/'))}`);
  return t;
}

async function electScript(r: Run): Promise<string[]> {
  const t: string[] = [];
  const L = new Leases();
  const sys = r.target.system;
  const observer = new Ctl(`${sys} observer`, r.eps, ['elect', '-l', 'pick']);
  const a = new Ctl(`${sys} A`, r.eps, ['elect', 'pick', 'alpha']);
  t.push(`A leads: ${L.text(await a.printed(/^pick\/[0-9a-f]+\nalpha\n$/))}`);
  await observer.printed(/alpha\n$/);
  const b = new Ctl(`${sys} B`, r.eps, ['elect', 'pick', 'beta']);
  await until(`${sys}: B queued`, async () => (await r.keys('pick/')).length === 2);
  t.push(`B queued, printed: ${JSON.stringify(b.out)}`);
  t.push(`leader: ${L.text(await r.ctl('get', '--prefix', 'pick/', '--sort-by=CREATE', '--limit=1'))}`);
  t.push(`A exits on SIGTERM (resigns): ${await a.stop('SIGTERM')}`);
  t.push(`B leads: ${L.text(await b.printed(/^pick\/[0-9a-f]+\nbeta\n$/))}`);
  await observer.printed(/beta\n$/);
  t.push(`B exits on SIGTERM: ${await b.stop('SIGTERM')}`);
  await until(`${sys}: no candidate left`, async () => (await r.keys('pick/')).length === 0);
  t.push(`observer exits on SIGTERM: ${await observer.stop('SIGTERM')}`);
  t.push(`observer saw:\n${L.text(observer.out)}`);
  return t;
}

const b = (s: string): Buffer => Buffer.from(s);
const errText = (e: unknown): string => `error ${(e as ServiceError).code} ${(e as ServiceError).details}`;
const quiet = (): void => {};

/** Lock and Election called over gRPC, on different members. */
async function grpcScript(r: Run): Promise<string[]> {
  const t: string[] = [];
  const L = new Leases();
  const [c1, c2, c3] = r.target.hostPorts.map((hp) => rawClient(hp)) as [RawClient, RawClient, RawClient];
  try {
    const base = Number(((await c1.unary('KV', 'Range', { key: b('nothing') })) as { header: { revision: string } }).header.revision);
    const rel = (rev: string): string => `+${Number(rev) - base}`;
    const grant = async (): Promise<string> => ((await c1.unary('Lease', 'LeaseGrant', { TTL: 30 })) as { ID: string }).ID;
    const [g1, g2, g3] = [await grant(), await grant(), await grant()];
    type LockRes = { header: { revision: string }; key: Buffer };

    const first = (await c1.unary('Lock', 'Lock', { name: b('g'), lease: g1 })) as LockRes;
    t.push(`lock: ${L.key(first.key.toString())} at ${rel(first.header.revision)}`);
    const waiting = c2.unary('Lock', 'Lock', { name: b('g'), lease: g2 }) as Promise<LockRes>;
    await until(`${r.target.system}: gRPC waiter queued`, async () => (await r.keys('g/')).length === 2);
    const unlocked = (await c3.unary('Lock', 'Unlock', { key: first.key })) as { header: { revision: string } };
    t.push(`unlock on n3 at ${rel(unlocked.header.revision)}`);
    const second = await waiting;
    t.push(`waiter on n2 gets the lock: ${L.key(second.key.toString())} at ${rel(second.header.revision)}`);

    // A waiter whose deadline passes withdraws its key; its error is the client's or the server's.
    const Ctor = makeGenericClientConstructor(loadConcurrencyServices().Lock, 'Lock');
    const lc = new Ctor(r.target.hostPorts[0]!, credentials.createInsecure()) as unknown as {
      Lock(req: unknown, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null) => void): void;
      close(): void;
    };
    const cancelled = await new Promise<ServiceError | null>((resolve) =>
      lc.Lock({ name: b('g'), lease: g3 }, new Metadata(), { deadline: Date.now() + CANCELLED_LOCK_DEADLINE_MS }, resolve),
    );
    lc.close();
    t.push(`waiter past its deadline fails: ${cancelled !== null}`);
    await until(`${r.target.system}: the cancelled waiter's key gone`, async () => (await r.keys('g/')).length === 1);
    t.push(`keys after it: ${(await r.keys('g/')).map((k) => L.key(k)).join(' ')}`);
    await c1.unary('Lock', 'Unlock', { key: second.key });
    await c1.unary('Lock', 'Unlock', { key: b('g/none') }).then(() => t.push('unlock of a missing key: ok'), (e) => t.push(errText(e)));
    await c1.unary('Lock', 'Unlock', { key: b('') }).then(() => t.push('unlock of an empty key: ok'), (e) => t.push(errText(e)));
    await c1.unary('Lock', 'Lock', { name: b('g'), lease: '12345' }).then(() => t.push('lock with an unknown lease: ok'), (e) => t.push(errText(e)));

    type Campaign = { header: { revision: string }; leader: { name: Buffer; key: Buffer; rev: string; lease: string } };
    type LeaderRes = { header: { revision: string }; kv: { key: Buffer; value: Buffer; createRevision: string; modRevision: string; version: string; lease: string } };
    const leaderText = (l: LeaderRes): string =>
      `${L.key(l.kv.key.toString())}=${l.kv.value.toString()} create ${rel(l.kv.createRevision)} mod ${rel(l.kv.modRevision)} version ${l.kv.version} lease ${L.id(l.kv.lease)} header ${rel(l.header.revision)}`;
    await c1.unary('Election', 'Leader', { name: b('ge') }).then(() => t.push('leader before any campaign: ok'), (e) => t.push(errText(e)));
    const observed: string[] = [];
    const stream = c2.stream('Election', 'Observe', { name: b('ge') });
    stream.on('data', (res: LeaderRes) => observed.push(leaderText(res)));
    stream.on('error', () => undefined);
    const won = (await c1.unary('Election', 'Campaign', { name: b('ge'), lease: g1, value: b('one') })) as Campaign;
    t.push(`campaign: ${won.leader.name.toString()} ${L.key(won.leader.key.toString())} rev ${rel(won.leader.rev)} lease ${L.id(won.leader.lease)} header ${rel(won.header.revision)}`);
    // The observer has seen the first leader before anything changes (else it could start later and skip it).
    await until(`${r.target.system}: observer saw the first leader`, () => observed.length >= 1);
    t.push(`leader: ${leaderText((await c3.unary('Election', 'Leader', { name: b('ge') })) as LeaderRes)}`);
    const proclaimed = (await c2.unary('Election', 'Proclaim', { leader: won.leader, value: b('two') })) as { header: { revision: string } };
    t.push(`proclaim on n2 at ${rel(proclaimed.header.revision)}`);
    const again = (await c1.unary('Election', 'Campaign', { name: b('ge'), lease: g1, value: b('three') })) as Campaign;
    t.push(`campaign again with the same lease, new value: rev ${rel(again.leader.rev)} header ${rel(again.header.revision)}`);
    const next = c3.unary('Election', 'Campaign', { name: b('ge'), lease: g2, value: b('four') }) as Promise<Campaign>;
    await until(`${r.target.system}: second candidate queued`, async () => (await r.keys('ge/')).length === 2);
    const resigned = (await c1.unary('Election', 'Resign', { leader: won.leader })) as { header: { revision: string } };
    t.push(`resign at ${rel(resigned.header.revision)}`);
    const nextWon = await next;
    t.push(`second candidate leads: ${L.key(nextWon.leader.key.toString())} rev ${rel(nextWon.leader.rev)} header ${rel(nextWon.header.revision)}`);
    await c1.unary('Election', 'Proclaim', { leader: won.leader, value: b('x') }).then(() => t.push('proclaim by the old leader: ok'), (e) => t.push(errText(e)));
    await c1.unary('Election', 'Resign', { leader: won.leader }).then(() => t.push('resign by the old leader: ok'), (e) => t.push(errText(e)));
    await c1.unary('Election', 'Proclaim', { value: b('x') }).then(() => t.push('proclaim without a leader key: ok'), (e) => t.push(errText(e)));
    await c1.unary('Election', 'Campaign', { name: b('ge'), lease: '777', value: b('v') }).then(() => t.push('campaign with an unknown lease: ok'), (e) => t.push(errText(e)));
    await c1.unary('Election', 'Resign', { leader: nextWon.leader });
    await until(`${r.target.system}: observer saw 4 values`, () => observed.length >= 4, () => JSON.stringify(observed));
    (stream as unknown as { cancel(): void }).cancel();
    t.push(`observed on n2:\n${observed.join('\n')}`);
  } finally {
    for (const c of [c1, c2, c3]) c.close();
  }
  return t;
}

describe('etcdctl lock / elect and the Lock and Election services, regionstore beside etcd', { skip: !HAVE_ETCDCTL, timeout: 420_000 }, () => {
  let dir: string;
  const runs: Run[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rs-lockelect-'));
    const targets = await Promise.allSettled([startRegionstore(dir, quiet), HAVE_ETCD ? startEtcd(dir, quiet) : Promise.resolve(undefined)]);
    for (const s of targets) if (s.status === 'fulfilled' && s.value !== undefined) runs.push(runOn(s.value));
    for (const s of targets) if (s.status === 'rejected') throw s.reason;
  });
  after(async () => {
    for (const child of started) child.kill('SIGKILL');
    await Promise.allSettled(runs.map((r) => r.target.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `script` on every system at once; regionstore's transcript must equal etcd's. */
  const sideBySide = async (script: (r: Run) => Promise<string[]>): Promise<void> => {
    const out = await Promise.all(runs.map((r) => script(r)));
    const [rs, etcd] = out;
    if (process.env.RS_TEST_VERBOSE !== undefined) console.log(out.map((o, i) => `${runs[i]!.target.system}:\n${o.join('\n')}`).join('\n\n'));
    if (etcd === undefined) {
      console.error('\n!!! etcd is not installed (apt-get install etcd-server): regionstore ran alone, not compared !!!\n');
      return;
    }
    assert.deepEqual(rs, etcd);
  };

  test('etcdctl lock: the second contender waits; unlock on SIGTERM hands over; kill -9 releases on lease expiry', () => sideBySide(lockScript));
  test('etcdctl elect: a candidate waits, resign hands over, elect -l observes each leader', () => sideBySide(electScript));
  test('Lock and Election over gRPC on different members: queueing, cancellation, leadership, Observe, errors', () => sideBySide(grpcScript));
});
