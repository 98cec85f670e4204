import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, recordedPidAlive, startCluster, type ServeCommand, type StartClusterOptions } from './launcher.js';
import { readClusterFile } from './plan.js';
import { isAlive } from './processes.js';
import { probeHealth } from './probe.js';

const STAND_IN = fileURLToPath(new URL('./testdata/stand-in-node.mjs', import.meta.url));
const COMMAND: ServeCommand = { executable: process.execPath, args: [STAND_IN], cwd: REPO_ROOT };
const tmp = mkdtempSync(join(tmpdir(), 'rs-launcher-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function options(name: string, extra: Partial<StartClusterOptions> = {}) {
  const lines: string[] = [];
  const opts: StartClusterOptions = {
    dataDir: join(tmp, name), command: COMMAND, readyTimeoutMs: 10_000, stopTimeoutMs: 2_000,
    onLine: (node, line, stream) => lines.push(`${node} ${stream} ${line}`), ...extra,
  };
  return { opts, lines };
}

function starts(dataDir: string, name: string): string[] {
  return readFileSync(join(dataDir, name, 'starts.log'), 'utf8').trim().split('\n');
}

describe('launcher (stand-in nodes)', () => {
  it('starts, reports, kills, restarts and stops a 3-node cluster', async () => {
    const { opts, lines } = options('a', { ready: 'healthy' });
    const c = await startCluster(opts);
    try {
      assert.deepEqual(c.nodes.map((n) => n.name), ['n1', 'n2', 'n3']);
      assert.equal(c.endpoints.split(',').length, 3);
      for (const n of c.nodes) {
        assert.ok(isAlive(n.pid));
        assert.equal((await probeHealth(n.metricsUrl)).healthy, true);
      }
      assert.ok(lines.includes('n2 stdout started n2'), lines.join('\n'));
      assert.ok(lines.includes('n3 stderr stderr line from n3'));
      assert.equal(await c.leader(), 'n1');
      const file = readClusterFile(c.dataDir);
      assert.deepEqual(file?.nodes.map((n) => n.pid), c.nodes.map((n) => n.pid));

      const old = c.node('n2').pid;
      await c.kill('n2');
      assert.equal(c.node('n2').running, false);
      assert.equal(isAlive(old), false);
      assert.equal(readClusterFile(c.dataDir)?.nodes[1]?.pid, undefined);

      const again = await c.restart('n2');
      assert.notEqual(again.pid, old);
      assert.equal(c.node('n2'), again, 'restart updates the node in place');
      const s = starts(c.dataDir, 'n2');
      assert.equal(s.length, 2);
      assert.equal(s[0]?.split(' ')[1], s[1]?.split(' ')[1], 'same flags on restart');

      await c.restart('n3'); // a running node: stopped with SIGTERM first
      assert.ok(lines.includes('n3 stdout stopping n3'));
      await c.waitHealthy(5_000);
      assert.throws(() => c.node('n9'), /no node named n9; the cluster has n1, n2, n3/);
    } finally {
      await c.stop();
    }
    for (const n of c.nodes) assert.equal(isAlive(n.pid), false);
    assert.deepEqual(readClusterFile(c.dataDir)?.nodes.map((n) => n.pid), [undefined, undefined, undefined]);
  });

  it('restarts from cluster.json on the same ports and token', async () => {
    const { opts } = options('b', { nodes: 2 });
    const first = await startCluster(opts);
    const before = readClusterFile(first.dataDir);
    await first.stop();
    await assert.rejects(startCluster({ ...opts, nodes: 3 }), /holds a 2-node cluster, not 3; drop --nodes/);
    const { nodes: _ignored, ...withoutNodes } = opts;
    const second = await startCluster(withoutNodes);
    try {
      assert.equal(second.endpoints, first.endpoints);
      assert.equal(readClusterFile(second.dataDir)?.token, before?.token);
      assert.equal(starts(second.dataDir, 'n1').length, 2);
      await assert.rejects(startCluster(opts), /already running \(n1 pid \d+, n2 pid \d+\)/);
    } finally {
      await second.stop();
    }
  });

  it('escalates to SIGKILL when a node ignores SIGTERM', async () => {
    const { opts, lines } = options('c', { nodes: 1, env: { ...process.env, STANDIN_IGNORE_TERM: '1' }, stopTimeoutMs: 300 });
    const c = await startCluster(opts);
    await c.stop();
    assert.ok(lines.includes('n1 stdout ignoring SIGTERM'));
    assert.equal(isAlive(c.nodes[0]!.pid), false);
  });

  it('reports a node that dies at start with its last output', async () => {
    const script = join(tmp, 'crash.mjs');
    writeFileSync(script, 'console.error("boom: bad flag"); process.exit(3);\n');
    const crash: ServeCommand = { executable: process.execPath, args: [script], cwd: REPO_ROOT };
    const { opts } = options('d', { nodes: 1, command: crash });
    await assert.rejects(startCluster(opts), /n1 exited with code 3 before it was ready; its last output:\n {2}boom: bad flag/);
  });

  it('detached nodes log to files and outlive the handle until stopped by pid', async () => {
    const { opts } = options('e', { nodes: 1, detached: true });
    const c = await startCluster(opts);
    const plan = readClusterFile(c.dataDir)!;
    assert.equal(recordedPidAlive(c.dataDir, plan.nodes[0]!), true);
    await c.stop();
    assert.match(readFileSync(join(c.dataDir, 'n1.log'), 'utf8'), /started n1/);
    assert.equal(recordedPidAlive(c.dataDir, readClusterFile(c.dataDir)!.nodes[0]!), false);
  });
});
