import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SEMI_SPACE_MB, memberNodeFlags, semiSpaceFlag } from './heap-flags.js';

describe('member heap flags', () => {
  it('the bin\'s shebang runs node with SEMI_SPACE_MB', () => {
    const shebang = readFileSync(new URL('../main.ts', import.meta.url), 'utf8').split('\n')[0];
    assert.equal(shebang, `#!/usr/bin/env -S node --max-semi-space-size=${SEMI_SPACE_MB} --min-semi-space-size=${SEMI_SPACE_MB}`);
  });
  it('the launcher adds the flag unless the operator gave one', () => {
    assert.deepEqual(memberNodeFlags([]), [`--max-semi-space-size=${SEMI_SPACE_MB}`, `--min-semi-space-size=${SEMI_SPACE_MB}`]);
    assert.deepEqual(memberNodeFlags(['--min-semi-space-size=4']), []);
    assert.deepEqual(memberNodeFlags(['--max-semi-space-size=8', '--trace-warnings']), []);
  });
  it('finds the flag on the command line over NODE_OPTIONS (node\'s own precedence)', () => {
    assert.equal(semiSpaceFlag(['--max-semi-space-size=64'], '--max-semi-space-size=8'), '--max-semi-space-size=64');
    assert.equal(semiSpaceFlag([], '--import x --max-semi-space-size=8'), '--max-semi-space-size=8');
    assert.equal(semiSpaceFlag([], ''), undefined);
  });
  it('takes effect only from the command line: the young generation grows past V8\'s default', () => {
    // Allocates enough short- and medium-lived objects for V8 to grow the new space to its
    // maximum, then reports it (MiB): 2 semi-spaces.
    const probe = `const v8=require('v8');let k=[];for(let i=0;i<4e6;i++){const o={a:i};if(i%3===0)k.push(o);if(k.length>2e5)k=[];}`
      + `console.log(v8.getHeapSpaceStatistics().find((s)=>s.space_name==='new_space').space_size/1048576)`;
    const run = (flags: string[]): number => Number(execFileSync(process.execPath, [...flags, '-e', probe], { env: { ...process.env, NODE_OPTIONS: '' } }).toString());
    const withFlag = run(memberNodeFlags());
    assert.ok(withFlag > run([]), `new space ${withFlag} MiB with the flag`);
    assert.ok(withFlag <= 2 * SEMI_SPACE_MB, `new space ${withFlag} MiB`);
  });
});
