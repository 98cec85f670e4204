import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunArgs, replayLine } from './args.js';

describe('npm run chaos arguments', () => {
  it('has defaults, and a random seed when none is given', () => {
    const c = parseRunArgs([], () => 1234);
    assert.deepEqual(c, {
      nodes: 3, timeS: 60, nemesisText: 'all', nemesis: c.nemesis, workloads: ['register', 'bank', 'watch'],
      seed: 1234, out: 'chaos-out', keep: false,
    });
    assert.ok(c.nemesis.length > 10);
  });

  it('replays a run with the same arguments', () => {
    const argv = ['--nodes', '5', '--time', '30', '--nemesis', 'kills,slow', '--workload', 'watch,register', '--seed', '9',
      '--unsafe', 'local-reads', '--out', 'x/'];
    const c = parseRunArgs(argv, () => 1);
    const line = replayLine(c);
    assert.equal(line, 'npm run chaos -- --nodes 5 --time 30 --nemesis kills,slow --workload register,watch --seed 9 --unsafe local-reads --out x/');
    const again = parseRunArgs(line.split(' ').slice(4), () => 2);
    assert.deepEqual(again, c);
  });

  it('refuses what it cannot run, saying why', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--nodes', '2'], /--nodes: expected an integer in 3\.\.7, got "2"/],
      [['--time', '0'], /--time: expected an integer/],
      [['--workload', 'queue'], /--workload: unknown workload "queue"/],
      [['--unsafe', 'yes'], /--unsafe: expected local-reads or ack-before-sync/],
      [['--nemesis', 'flood'], /unknown fault "flood"/],
      [['extra'], /unexpected argument "extra"/],
    ];
    for (const [argv, message] of bad) assert.throws(() => parseRunArgs(argv, () => 1), message, argv.join(' '));
  });
});
