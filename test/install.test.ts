// The installed commands, as a user gets them: `npm pack` of this tree, `npm install -g` of
// the tarball into a scratch prefix (production dependencies only: no tsx, no TypeScript),
// then the installed `regionstore` runs a 3-member cluster and the installed `rsctl` talks
// to it. Uses the dist/ that `npm test` builds first; without a fresh build it skips loudly.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { distFreshness } from '../cluster/dist-build.js';
import { REPO_ROOT } from '../cluster/launcher.js';
import { run, startTestCluster, type TestCluster } from './helpers/cluster.js';

/** npm pack + install from the local cache; the registry only for what the cache lacks. */
const NPM_TIMEOUT_MS = 180_000;

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

function npm(args: string[], cwd: string): { ok: boolean; out: string } {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: NPM_TIMEOUT_MS });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error === undefined ? '' : String(r.error)}` };
}

/** Why this test cannot run here, or undefined. */
function missing(): string | undefined {
  const fresh = distFreshness(REPO_ROOT);
  if (!fresh.fresh) return `dist/ is not fresh: ${fresh.why}; npm test builds it first`;
  if (spawnSync('npm', ['--version']).status !== 0) return 'npm is not on PATH';
  return undefined;
}

const skip = missing();
if (skip !== undefined) console.error(`\n!!! SKIPPING the install test: ${skip} !!!\n`);

describe('npm pack + npm install -g: the installed regionstore and rsctl', { skip, timeout: 240_000 }, () => {
  let tmp: string;
  let prefix: string;
  let bin: (name: string) => string;
  let cluster: TestCluster | undefined;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rs-install-'));
    prefix = join(tmp, 'prefix');
    bin = (name) => join(prefix, 'bin', name);
    // --ignore-scripts: pack the dist/ that is there (prepare would rebuild it under the
    // feet of other tests running members from it).
    const packed = npm(['pack', '--ignore-scripts', '--pack-destination', tmp], REPO_ROOT);
    assert.ok(packed.ok, `npm pack failed:\n${packed.out}`);
    const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball !== undefined, `npm pack wrote no tarball:\n${packed.out}`);
    const installed = npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(tmp, tarball)], tmp);
    assert.ok(installed.ok, `npm install -g of the tarball failed (needs the npm cache or registry):\n${installed.out}`);
  });
  after(async () => {
    await cluster?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the package holds compiled code only, and no build tools come with it', () => {
    const root = join(prefix, 'lib', 'node_modules', 'regionstore');
    assert.ok(existsSync(join(root, 'dist', 'server', 'main.js')));
    assert.ok(existsSync(join(root, 'dist', 'proto', 'etcd', 'etcdserverpb', 'rpc.proto')), 'the .proto files loaded at run time');
    assert.equal(existsSync(join(root, 'server')), false, 'no TypeScript sources');
    for (const dev of ['tsx', 'typescript']) assert.equal(existsSync(join(root, 'node_modules', dev)), false, `${dev} installed`);
  });

  test('regionstore --version / --help and rsctl version', async () => {
    const v = await run(bin('regionstore'), ['--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `regionstore Version: ${pkg.version}\nAPI Version: 3.5\n`);
    const help = await run(bin('regionstore'), ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: regionstore <command> \[flags\][\s\S]*Commands:\n {2}serve {2}/);
    const wrong = await run(bin('regionstore'), ['sevre']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /unknown command "sevre"[\s\S]*Commands:/);
    const r = await run(bin('rsctl'), ['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `rsctl version: ${pkg.version}\nAPI version: 3.5\n`);
  });

  test('the installed regionstore serves a 3-member cluster that the installed rsctl uses', async () => {
    // cwd is the scratch dir: nothing may be resolved from this repository.
    cluster = await startTestCluster({ command: { executable: bin('regionstore'), args: ['serve'], cwd: tmp } });
    const ep = ['--endpoints', cluster.hostPorts.join(',')];
    for (const [i, member] of cluster.hostPorts.entries()) {
      const put = await run(bin('rsctl'), ['--endpoints', member, 'put', `installed/${i}`, `v${i}`]);
      assert.equal(put.code, 0, put.stderr);
    }
    const all = await run(bin('rsctl'), [...ep, 'get', '', '--prefix']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, 'installed/0\nv0\ninstalled/1\nv1\ninstalled/2\nv2\n');
    const status = await run(bin('rsctl'), [...ep, 'endpoint', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stdout.trim().split('\n').length, 3);
    // A keep-alive sent to a follower is forwarded to the leader: that path loads the etcd
    // protos by file path too, which must resolve inside the installed package.
    const grant = await run(bin('rsctl'), [...ep, 'lease', 'grant', '60']);
    const id = /^lease ([0-9a-f]+) granted/.exec(grant.stdout)?.[1];
    assert.ok(id !== undefined, grant.stdout + grant.stderr);
    for (const member of cluster.hostPorts) {
      const ka = await run(bin('rsctl'), ['--endpoints', member, 'lease', 'keep-alive', '--once', id]);
      assert.equal(ka.code, 0, `keep-alive through ${member}: ${ka.stderr}`);
      assert.match(ka.stdout, new RegExp(`^lease ${id} keepalived with TTL\\(60\\)`));
    }
  });
});
