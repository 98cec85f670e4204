import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatOp, type HistoryOp } from '../history/op.js';
import { EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, main } from './cli-main.js';
import { get, put, withStatus } from './testing/ops.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-check-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, ops: HistoryOp[] | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof ops === 'string' ? ops : ops.map(formatOp).join('\n') + '\n');
  return path;
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, (s) => (out += s + '\n'), (s) => (err += s + '\n'));
  return { code, out, err };
}

const good = [put(1, 'a', 0, 10), get(2, 'a', 20, 30)];
const stale = [put(1, 'a', 0, 10), put(1, 'b', 20, 30), get(2, 'a', 40, 50)];

describe('chaos:check', () => {
  it('exits 0 on a linearizable history', async () => {
    const r = await run([await file('good.jsonl', good)]);
    assert.equal(r.code, EXIT_OK);
    assert.match(r.out, /^linearizability: linearizable \(2 operations, 1 keys/);
  });

  it('exits 1 on a violation and prints the window', async () => {
    const r = await run([await file('stale.jsonl', stale)]);
    assert.equal(r.code, EXIT_VIOLATION);
    assert.match(r.out, /key "x": NOT LINEARIZABLE: 2 operations/);
    assert.match(r.out, /get → "a" .*← no order explains this result/);
  });

  it('exits 2 when a bound stops the search', async () => {
    const hard: HistoryOp[] = [];
    for (let p = 0; p < 16; p++) hard.push(withStatus(put(p, `v${p}`, 0, 10), 'unknown'));
    for (let p = 0; p < 16; p++) hard.push(get(100, `v${p}`, 20 + 20 * p, 30 + 20 * p));
    hard.push(get(100, 'v0', 10_000, 10_010));
    const r = await run([await file('hard.jsonl', hard), '--max-steps', '1000']);
    assert.equal(r.code, EXIT_UNKNOWN);
    assert.match(r.out, /"x": unknown \(step limit \(1000\) reached; no stretch of 100 operations shows a violation\)/);
  });

  it('exits 2 on a malformed file, naming the line and the defect', async () => {
    const text = formatOp(good[0]!) + '\n' + formatOp(good[1]!).replace('"get"', '"read"') + '\n';
    const path = await file('bad.jsonl', text);
    const r = await run([path]);
    assert.equal(r.code, EXIT_UNKNOWN);
    assert.equal(r.err.trim(), `${path}:2: "op" must be one of "put", "get", "cas", "delete", got "read"`);
  });

  it('exits 2 on a missing file or a wrong command line', async () => {
    assert.equal((await run([join(dir, 'nope.jsonl')])).code, EXIT_UNKNOWN);
    const none = await run([]);
    assert.equal(none.code, EXIT_UNKNOWN);
    assert.match(none.err, /expected one history file, got 0\nusage: npm run chaos:check/);
    assert.equal((await run([join(dir, 'x'), '--max-steps', 'many'])).code, EXIT_UNKNOWN);
  });

  it('prints JSON with --json', async () => {
    const r = await run([await file('stale2.jsonl', stale), '--json']);
    const result = JSON.parse(r.out) as { verdict: string; keys: Array<{ window: { culprit: number } }> };
    assert.equal(result.verdict, 'violation');
    assert.equal(result.keys[0]?.window.culprit, 2);
  });

  it('sets the exit status as a command (tsx chaos/checker/cli.ts)', async () => {
    const paths = [await file('c-good.jsonl', good), await file('c-stale.jsonl', stale), await file('c-bad.jsonl', '{}\n')];
    const codes = paths.map((p) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'chaos/checker/cli.ts', p], { cwd: ROOT, encoding: 'utf8' }));
    assert.deepEqual(codes.map((c) => c.status), [0, 1, 2], codes.map((c) => c.stderr).join('\n'));
    assert.match(codes[2]!.stderr, /c-bad\.jsonl:1: missing field "process"/);
  });
});
