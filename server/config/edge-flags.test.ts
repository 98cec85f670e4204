import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { edgeHelp, parseEdgeFlags, type EdgeConfig, type EdgeFlagsResult } from './edge-flags.js';

function config(r: EdgeFlagsResult): EdgeConfig {
  assert.equal(r.kind, 'config', r.kind === 'error' ? r.errors.join('\n') : r.kind);
  return (r as { config: EdgeConfig }).config;
}
function errors(r: EdgeFlagsResult): string[] {
  assert.equal(r.kind, 'error');
  return (r as { errors: string[] }).errors;
}

const BASE = ['--name', 'truck-17', '--region', '127.0.0.1:2379,127.0.0.1:2479'];

describe('regionstore edge flags', () => {
  it('parses the flags of the issue', () => {
    const c = config(parseEdgeFlags([...BASE, '--data-dir', 'd', '--listen-client-urls', 'http://127.0.0.1:3379', '--namespaces', 'a,b,a', '--metrics-addr=127.0.0.1:3381'], {}));
    assert.equal(c.name, 'truck-17');
    assert.equal(c.dataDir, 'd');
    assert.deepEqual(c.region, ['127.0.0.1:2379', '127.0.0.1:2479']);
    assert.deepEqual(c.listenClientUrls.map((u) => u.port), [3379]);
    assert.deepEqual(c.namespaces, ['a', 'b']);
    assert.deepEqual(c.metricsAddr, { host: '127.0.0.1', port: 3381 });
    assert.equal(c.unsafeClockOffsetMs, 0);
  });

  it('takes an edge group (the region\'s metrics label), default "default", and refuses a bad one', () => {
    assert.equal(config(parseEdgeFlags(BASE, {})).group, 'default');
    assert.equal(config(parseEdgeFlags([...BASE, '--group', 'site-a'], {})).group, 'site-a');
    assert.equal(config(parseEdgeFlags(BASE, { REGIONSTORE_EDGE_GROUP: 'fleet.b' })).group, 'fleet.b');
    assert.match(errors(parseEdgeFlags([...BASE, '--group', 'Site A'], {})).join('\n'), /--group: "Site A" is not a group name/);
    assert.match(errors(parseEdgeFlags([...BASE, '--group', 'x'.repeat(65)], {})).join('\n'), /at most 64/);
  });

  it('reads REGIONSTORE_EDGE_* and lets a flag win', () => {
    const c = config(parseEdgeFlags(['--name', 'x'], { REGIONSTORE_EDGE_NAME: 'y', REGIONSTORE_EDGE_REGION: 'http://127.0.0.1:2379', REGIONSTORE_EDGE_DATA_DIR: '/tmp/e' }));
    assert.equal(c.name, 'x');
    assert.deepEqual(c.region, ['127.0.0.1:2379']);
    assert.equal(c.dataDir, '/tmp/e');
    assert.equal(c.namespaces, undefined);
  });

  it('lists every problem at once', () => {
    const errs = errors(parseEdgeFlags(['--bogus', '1', '--region', 'nope', '--log-level', 'loud'], {}));
    assert.equal(errs.length, 4, errs.join('\n'));
    assert.match(errs.join('\n'), /--name is required/);
    assert.match(errs.join('\n'), /unknown flag --bogus/);
    assert.match(errs.join('\n'), /"nope" is not host:port/);
  });

  it('refuses the clock offset without REGIONSTORE_UNSAFE=1', () => {
    assert.match(errors(parseEdgeFlags([...BASE, '--unsafe-clock-offset-ms', '5000'], {}))[0]!, /REGIONSTORE_UNSAFE=1/);
    assert.equal(config(parseEdgeFlags([...BASE, '--unsafe-clock-offset-ms', '-5000'], { REGIONSTORE_UNSAFE: '1' })).unsafeClockOffsetMs, -5000);
  });

  it('refuses the durable-point recording (power-cut emulation) without REGIONSTORE_UNSAFE=1', () => {
    assert.equal(config(parseEdgeFlags(BASE, {})).unsafeRecordDurablePoints, false);
    assert.match(errors(parseEdgeFlags([...BASE, '--unsafe-record-durable-points', 'true'], {}))[0]!, /REGIONSTORE_UNSAFE=1/);
    assert.match(errors(parseEdgeFlags([...BASE, '--unsafe-record-durable-points', 'yes'], { REGIONSTORE_UNSAFE: '1' }))[0]!, /not true or false/);
    const env = { REGIONSTORE_UNSAFE: '1', REGIONSTORE_EDGE_UNSAFE_RECORD_DURABLE_POINTS: 'true' };
    assert.equal(config(parseEdgeFlags(BASE, env)).unsafeRecordDurablePoints, true);
  });

  it('--help lists every flag and its variable', () => {
    const r = parseEdgeFlags(['--help'], {});
    assert.equal(r.kind, 'help');
    for (const f of ['--name', '--data-dir', '--region', '--listen-client-urls', '--namespaces', '--metrics-addr', '--unsafe-clock-offset-ms', '--unsafe-record-durable-points', 'REGIONSTORE_EDGE_REGION']) {
      assert.ok(edgeHelp().includes(f), f);
    }
  });
});
