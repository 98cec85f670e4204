// dist/ freshness (cluster/dist-build.ts) and how the launcher picks the members' command
// from it, on a scratch tree (no build, no processes).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN_SCRIPTS, BUILD_INFO_FILE, distFreshness } from './dist-build.js';
import { memberNodeFlags } from '../server/util/heap-flags.js';
import { DIST_SERVE_COMMAND, REPO_ROOT, SERVE_FROM_ENV, TSX_SERVE_COMMAND, defaultServeCommand } from './launcher.js';

const tmp = mkdtempSync(join(tmpdir(), 'rs-dist-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function tree(name: string, buildStartedAtMs: number | undefined): string {
  const root = join(tmp, name);
  for (const dir of ['server/api', 'client', 'proto/etcd', 'dist']) mkdirSync(join(root, dir), { recursive: true });
  for (const f of ['server/main.ts', 'server/api/kv.ts', 'client/index.ts', 'proto/etcd/rpc.proto', 'server/api/kv.test.ts']) {
    writeFileSync(join(root, f), '');
    utimesSync(join(root, f), new Date(1_000_000), new Date(1_000_000));
  }
  if (buildStartedAtMs !== undefined) {
    writeFileSync(join(root, 'dist', BUILD_INFO_FILE), JSON.stringify({ version: '0.0.0', startedAtMs: buildStartedAtMs, finishedAtMs: buildStartedAtMs + 1 }));
  }
  return root;
}

describe('dist freshness', () => {
  it('is fresh when no source changed after the build started', () => {
    assert.equal(distFreshness(tree('fresh', 2_000_000)).fresh, true);
  });
  it('is stale without a finished build', () => {
    const f = distFreshness(tree('none', undefined));
    assert.equal(f.fresh, false);
    assert.match(f.fresh ? '' : f.why, /no dist\/build\.json \(run npm run build\)/);
  });
  it('is stale when a source or a .proto changed after the build, but not for a test file', () => {
    for (const [file, stale] of [['server/api/kv.ts', true], ['proto/etcd/rpc.proto', true], ['server/api/kv.test.ts', false]] as const) {
      const root = tree(`edit-${file.replace(/\W/g, '_')}`, 2_000_000);
      utimesSync(join(root, file), new Date(3_000_000), new Date(3_000_000));
      const f = distFreshness(root);
      assert.equal(f.fresh, !stale, file);
      if (!f.fresh) assert.match(f.why, new RegExp(`${file.replace('.', '\\.')} changed after the last build`));
    }
  });
});

describe('the members\' command', () => {
  it('follows RS_CLUSTER_SERVE_FROM, and refuses a value it does not know', () => {
    assert.deepEqual(defaultServeCommand({ [SERVE_FROM_ENV]: 'tsx' }), TSX_SERVE_COMMAND);
    assert.throws(() => defaultServeCommand({ [SERVE_FROM_ENV]: 'docker' }), /must be tsx or dist/);
  });
  it('is dist/ exactly when dist/ is fresh', () => {
    const expected = distFreshness(REPO_ROOT).fresh ? DIST_SERVE_COMMAND : TSX_SERVE_COMMAND;
    assert.deepEqual(defaultServeCommand({}), expected);
    assert.deepEqual(DIST_SERVE_COMMAND.args, [...memberNodeFlags((process.env.NODE_OPTIONS ?? '').split(/\s+/)), join(REPO_ROOT, BIN_SCRIPTS.regionstore), 'serve']);
  });
  it('package.json\'s bin entries are the scripts the build marks executable', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
    assert.deepEqual(pkg.bin, BIN_SCRIPTS);
    assert.ok(pkg.files.includes('dist/'));
  });
});
