// npm start (start.ts) and npm run cluster (cli.ts) as a person runs them, with the
// stand-in node in place of server/main.ts.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseClusterArgs, summaryLines } from './cli-common.js';
import { REPO_ROOT, SERVE_SCRIPT_ENV } from './launcher.js';
import { readClusterFile } from './plan.js';
import { isAlive } from './processes.js';

const STAND_IN = fileURLToPath(new URL('./testdata/stand-in-node.mjs', import.meta.url));
const ENV = { ...process.env, [SERVE_SCRIPT_ENV]: STAND_IN };
const tmp = mkdtempSync(join(tmpdir(), 'rs-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'cluster/cli.ts', ...args], { cwd: REPO_ROOT, env: ENV, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('cluster command line', () => {
  it('parses arguments and refuses bad ones with the usage', () => {
    assert.deepEqual(parseClusterArgs(['up', '--nodes', '5', '--data=/x'], true), { command: 'up', nodes: 5, dataDir: '/x', help: false });
    assert.equal(parseClusterArgs([], false).dataDir, './data');
    assert.throws(() => parseClusterArgs(['--nodes', '9'], false), /from 1 to 7, not "9"/);
    assert.throws(() => parseClusterArgs(['sideways'], true), /unexpected argument "sideways"\n\nUsage/);
    assert.throws(() => parseClusterArgs([], true), /say what to do: up, down, status/);
  });

  it('summary names endpoints, metrics and an etcdctl line', () => {
    const file = { version: 1, token: 't', host: '127.0.0.1', nodes: [{ name: 'n1', clientPort: 1, peerPort: 2, metricsPort: 3 }] };
    const text = summaryLines(file, '/d').join('\n');
    assert.match(text, /n1 {2}client http:\/\/127.0.0.1:1 {2}metrics http:\/\/127.0.0.1:3\/metrics/);
    assert.match(text, /etcdctl --endpoints=127.0.0.1:1 put foo bar/);
  });

  it('up, status, down', () => {
    const data = join(tmp, 'bg');
    const upRun = cli('up', '--nodes', '2', '--data', data);
    assert.equal(upRun.code, 0, upRun.out);
    assert.match(upRun.out, /etcdctl --endpoints=/);
    const pids = readClusterFile(data)!.nodes.map((n) => n.pid as number);
    assert.ok(pids.every(isAlive));

    const st = cli('status', '--data', data);
    assert.equal(st.code, 0, st.out);
    assert.match(st.out, /n1 .* healthy +leader/);
    assert.match(st.out, /leader: n1/);
    assert.match(cli('up', '--data', data).out, /already running/);

    const downRun = cli('down', '--data', data);
    assert.equal(downRun.code, 0, downRun.out);
    assert.match(downRun.out, /n2 \(pid \d+\) stopped/);
    assert.ok(!pids.some(isAlive));
    const after2 = cli('status', '--data', data);
    assert.equal(after2.code, 1);
    assert.match(after2.out, /n1 .* down/);
  });

  it('npm start prints where to go and stops every node on Ctrl-C', async () => {
    const data = join(tmp, 'fg');
    const child = spawn(process.execPath, ['--import', 'tsx', 'cluster/start.ts', '--data', data], { cwd: REPO_ROOT, env: ENV });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 20_000;
    while (!/is the leader/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /3-node cluster/);
    assert.match(out, /\[n2\] +started n2/);
    assert.match(out, /n1 is the leader/);
    const pids = readClusterFile(data)!.nodes.map((n) => n.pid as number);
    assert.ok(pids.every(isAlive));
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.match(out, /all nodes stopped/);
    assert.ok(!pids.some(isAlive));
  });
});
