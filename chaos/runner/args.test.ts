import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunArgs, replayLine } from './args.js';

describe('npm run chaos arguments', () => {
  it('has defaults, and a random seed when none is given', () => {
    const c = parseRunArgs([], () => 1234);
    assert.deepEqual(c, {
      nodes: 3, timeS: 60, nemesisText: 'all', nemesis: c.nemesis, workloads: ['register', 'bank', 'watch'],
      seed: 1234, out: 'chaos-out', keep: false, edges: 0, edgeNemesis: [], linkScheduleText: '',
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

  it('edges: --nemesis all adds the edge faults, a link schedule, the KPI defaults; replayed alike', () => {
    const c = parseRunArgs(['--edges', '2', '--nemesis', 'all', '--link-schedule', 'up:10s,down:500ms', '--seed', '3'], () => 1);
    assert.equal(c.edges, 2);
    assert.ok(c.edgeNemesis.includes('edge-wipe') && c.edgeNemesis.includes('edge-kill-leader'));
    assert.ok(c.nemesis.includes('kill'));
    assert.deepEqual(c.linkSchedule, { upMs: 10_000, downMs: 500 });
    assert.deepEqual(parseRunArgs(replayLine(c).split(' ').slice(4), () => 2), c);
    const only = parseRunArgs(['--edges', '1', '--nemesis', 'edge-cut,kill'], () => 1);
    assert.deepEqual([only.edgeNemesis, only.nemesis], [['edge-cut'], ['kill']]);
    const kpi = parseRunArgs(['--kpi'], () => 1);
    assert.deepEqual([kpi.edges, kpi.timeS, kpi.nemesis, kpi.edgeNemesis, kpi.workloads, kpi.kpiRate, kpi.linkScheduleText],
      [5, 600, [], [], [], 10, 'up:10s,down:5s']);
    assert.deepEqual(parseRunArgs(replayLine(kpi).split(' ').slice(4), () => 2), kpi);
  });

  it('refuses what it cannot run, saying why', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--nodes', '2'], /--nodes: expected an integer in 3\.\.7, got "2"/],
      [['--time', '0'], /--time: expected an integer/],
      [['--workload', 'queue'], /--workload: unknown workload "queue"/],
      [['--unsafe', 'yes'], /--unsafe: expected local-reads or ack-before-sync/],
      [['--nemesis', 'flood'], /unknown fault "flood"/],
      [['extra'], /unexpected argument "extra"/],
      [['--nemesis', 'edge-cut'], /edge faults need --edges N/],
      [['--edges', '1', '--nemesis', 'edge-flood'], /unknown edge fault "edge-flood"/],
      [['--unsafe', 'edge-early-gc'], /an edge tooth needs --edges N/],
      [['--edges', '1', '--link-schedule', 'up:10s'], /--link-schedule: both up and down/],
    ];
    for (const [argv, message] of bad) assert.throws(() => parseRunArgs(argv, () => 1), message, argv.join(' '));
  });
});
