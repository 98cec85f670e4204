import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  clusterFilePath, etcdctlLine, lastFlagWins, newPlan, nodeUrls, readClusterFile, serveArgs, writeClusterFile, type ClusterFile,
} from './plan.js';
import { isPortFree, pickFreePorts } from './ports.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-plan-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const FILE: ClusterFile = {
  version: 1, token: 'tok', host: '127.0.0.1',
  nodes: [
    { name: 'n1', clientPort: 2379, peerPort: 2380, metricsPort: 2381 },
    { name: 'n2', clientPort: 2479, peerPort: 2480, metricsPort: 2481 },
  ],
};

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

describe('ports', () => {
  it('picks distinct ports that are free', async () => {
    const ports = await pickFreePorts(9);
    assert.equal(new Set(ports).size, 9);
    for (const p of ports) assert.ok(p > 0 && p < 65536);
    assert.equal(await isPortFree(ports[0] as number), true);
  });
});

describe('cluster plan', () => {
  it('a new plan has n1..nN with 3N distinct ports and a token', async () => {
    const plan = await newPlan(3);
    assert.deepEqual(plan.nodes.map((n) => n.name), ['n1', 'n2', 'n3']);
    const ports = plan.nodes.flatMap((n) => [n.clientPort, n.peerPort, n.metricsPort]);
    assert.equal(new Set(ports).size, 9);
    assert.match(plan.token, /^regionstore-local-[0-9a-f]{8}$/);
    await assert.rejects(newPlan(0), /--nodes must be a whole number from 1 to 7/);
    await assert.rejects(newPlan(8), /--nodes must be/);
  });

  it('round-trips through cluster.json', () => {
    const dir = join(tmp, 'rt');
    assert.equal(readClusterFile(dir), undefined);
    writeClusterFile(dir, { ...FILE, nodes: [{ ...FILE.nodes[0]!, pid: 1234 }, FILE.nodes[1]!] });
    const back = readClusterFile(dir);
    assert.equal(back?.token, 'tok');
    assert.equal(back?.nodes[0]?.pid, 1234);
    assert.deepEqual(back?.nodes[1], FILE.nodes[1]);
  });

  it('refuses a broken cluster.json with the way out', () => {
    const dir = join(tmp, 'bad');
    writeClusterFile(dir, FILE);
    writeFileSync(clusterFilePath(dir), '{not json');
    assert.throws(() => readClusterFile(dir), /not valid JSON.*remove the data directory/);
    writeFileSync(clusterFilePath(dir), JSON.stringify({ ...FILE, nodes: [{ name: 'n1', clientPort: 0 }] }));
    assert.throws(() => readClusterFile(dir), /node n1 has an invalid port; fix it or remove the data directory/);
    writeFileSync(clusterFilePath(dir), JSON.stringify({ ...FILE, version: 9 }));
    assert.throws(() => readClusterFile(dir), /version is 9, expected 1/);
  });

  it('builds the serve flags an etcd operator would write', () => {
    const args = serveArgs(FILE, FILE.nodes[1]!, '/data');
    assert.equal(flag(args, '--name'), 'n2');
    assert.equal(flag(args, '--data-dir'), '/data/n2');
    assert.equal(flag(args, '--listen-client-urls'), 'http://127.0.0.1:2479');
    assert.equal(flag(args, '--advertise-client-urls'), 'http://127.0.0.1:2479');
    assert.equal(flag(args, '--listen-peer-urls'), 'http://127.0.0.1:2480');
    assert.equal(flag(args, '--initial-advertise-peer-urls'), 'http://127.0.0.1:2480');
    assert.equal(flag(args, '--initial-cluster'), 'n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2480');
    assert.equal(flag(args, '--initial-cluster-state'), 'new');
    assert.equal(flag(args, '--initial-cluster-token'), 'tok');
    assert.equal(flag(args, '--metrics-addr'), '127.0.0.1:2481');
    assert.equal(args.length % 2, 0);
  });

  it('prints URLs and an etcdctl line to try', () => {
    assert.equal(nodeUrls(FILE, FILE.nodes[0]!, '/d').metricsUrl, 'http://127.0.0.1:2381');
    assert.equal(etcdctlLine(FILE, '/d'), 'ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:2379,127.0.0.1:2479 put foo bar');
  });
});

describe('lastFlagWins', () => {
  it('keeps the last occurrence of each flag, in order, for both --name value and --name=value', () => {
    assert.deepEqual(
      lastFlagWins(['--name', 'n1', '--listen-peer-urls', 'http://a', '--election-ms=300', '--listen-peer-urls', 'http://b', '--election-ms', '500']),
      ['--name', 'n1', '--listen-peer-urls', 'http://b', '--election-ms', '500'],
    );
    assert.deepEqual(lastFlagWins(['--a', '1', '--b', '--a=2']), ['--b', '--a=2'], 'a flag with no value stays one token');
    assert.deepEqual(lastFlagWins([]), []);
  });
});
