import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INSTALLING_SNAPSHOT_MESSAGE } from './errors.js';
import { LocalReadGate } from './read-gate.js';

test('reads are refused with UNAVAILABLE while the state is replaced; the old state closes only after reads begun before', async () => {
  const gate = new LocalReadGate();
  const order: string[] = [];
  let finishRead!: () => void;
  const before = gate.read(() => new Promise<string>((resolve) => {
    finishRead = () => resolve('old state');
  }));
  let releaseInstall!: () => void;
  const install = gate.replace(async (idle) => {
    order.push('streaming');
    await new Promise<void>((resolve) => (releaseInstall = resolve));
    await idle();
    order.push('old state closed');
  });
  await assert.rejects(gate.read(() => 'x'), (err: Error & { code?: string }) =>
    err.code === 'unavailable' && err.message === INSTALLING_SNAPSHOT_MESSAGE);
  assert.throws(() => gate.check(), /installing a snapshot from the leader/);
  releaseInstall();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['streaming'], 'the install waits for the read begun before it');
  finishRead();
  assert.equal(await before, 'old state');
  await install;
  assert.deepEqual(order, ['streaming', 'old state closed']);
  assert.equal(await gate.read(() => 'new state'), 'new state', 'reads are served again');
});

test('a failed replacement opens the gate again', async () => {
  const gate = new LocalReadGate();
  await assert.rejects(gate.replace(async () => {
    throw new Error('stream broke');
  }), /stream broke/);
  assert.equal(await gate.read(() => 1), 1);
});
