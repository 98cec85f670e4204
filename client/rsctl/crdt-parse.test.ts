// rsctl's CRDT commands without a cluster: the command line (negative deltas, groups),
// events files, usage errors before any connection, and the output helpers.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCommandLine, rootHelp } from './cli.js';
import { parseEventLine, parseEventsFile } from './commands/events.js';
import {
  dotText, eventLine, gapsText, hlcText, percentText, supersededLine, vectorText, writeJson,
} from './crdt-output.js';
import { ExitCode } from './exit.js';
import { toJson } from './output.js';
import { rsctl } from './testing/run.js';

/** An endpoint nothing listens on: a command that got as far as dialing would exit 3, not 2. */
const DEAD = ['--endpoints', '127.0.0.1:1'];

describe('rsctl CRDT command line', () => {
  test('every CRDT command is in rsctl --help', () => {
    const help = rootHelp();
    for (const c of ['lww put', 'lww get', 'lww del', 'mv get', 'mv put', 'counter add', 'counter get', 'set add', 'set remove', 'set members',
      'events append', 'events scan', 'events completeness', 'conflicts', 'superseded', 'crdt hash']) {
      assert.match(help, new RegExp(`\\n  ${c} +\\S`), c);
    }
  });

  test('a negative number is an argument, not a flag; flags still parse around it', () => {
    const p = parseCommandLine(['counter', 'add', 'hits', '-3', '-w', 'json']);
    assert.equal(p.command?.name, 'counter add');
    assert.deepEqual(p.args, ['hits', '-3']);
    assert.equal(p.flags['write-out'], 'json');
    assert.throws(() => parseCommandLine(['counter', 'add', 'hits', '-x']), /unknown flag -x/);
  });

  test('events flags and defaults', () => {
    const p = parseCommandLine(['events', 'append', 'tele', '--type', 't', '--payload', '{"a":1}', '--seq', '4', '--device', 'd']);
    assert.deepEqual([p.flags['type'], p.flags['payload'], p.flags['seq'], p.flags['device'], p.flags['batch']], ['t', '{"a":1}', 4, 'd', 500]);
    const s = parseCommandLine(['events', 'scan', 'tele', '--from-seq', '3', '--limit', '10', '--consistency', 's']);
    assert.deepEqual([s.flags['from-seq'], s.flags['limit'], s.flags['consistency']], [3, 10, 's']);
  });

  test('events file lines: defaults, both spellings, payload as JSON text, errors with their line', () => {
    const d = { device: 'host', type: 'temp' };
    assert.deepEqual(parseEventLine('{"payload":{"c":1}}', 'f:1', d), { device: 'host', type: 'temp', payload: '{"c":1}' });
    assert.deepEqual(parseEventLine('{"device":"p7","type":"t","seq":3,"schemaVersion":2,"ts_ms":5,"payload":"x"}', 'f:1', d),
      { device: 'p7', type: 't', payload: '"x"', seq: 3, schemaVersion: 2, tsMs: 5 });
    assert.throws(() => parseEventLine('{"payload":1', 'f:3', d), /f:3: not JSON/);
    assert.throws(() => parseEventLine('[1]', 'f:1', d), /JSON object/);
    assert.throws(() => parseEventLine('{"dev":"x"}', 'f:1', d), /unknown field "dev"/);
    assert.throws(() => parseEventLine('{"seq":-1}', 'f:1', d), /"seq" must be a whole number/);
    assert.throws(() => parseEventLine('{}', 'f:1', { device: 'h', type: undefined }), /"type" must be a non-empty string \(or give --type\)/);
    assert.equal(parseEventsFile('{"seq":1}\n\n{"seq":2}\n', 'e.jsonl', d).length, 2);
    assert.throws(() => parseEventsFile('\n\n', 'e.jsonl', d), /holds no events/);
  });

  test('usage errors exit 2 before dialing, with the command named', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['counter', 'add', 'k', '1.5'], /<delta> must be a whole number/],
      [['counter', 'add', 'k'], /missing argument/],
      [['events', 'append', 'ns'], /--type is required/],
      [['events', 'append', 'ns', '--type', 't', '--payload', '{bad'], /--payload must be JSON/],
      [['events', 'append', 'ns', '--file', 'x.jsonl', '--seq', '3'], /--file takes each event's fields/],
      [['events', 'append', 'ns', '--type', 't', '--batch', '5000'], /--batch must be 1\.\.1000/],
      [['lww', 'get', 'k', '--prefix', '--from-key'], /at most one of/],
      [['superseded', 'ns', '--prefix'], /need --key/],
      [['set', 'add', 'k'], /missing argument/],
      [['mv', 'get', 'k', '--read', 'sometimes'], /--read must be/],
    ];
    for (const [args, re] of cases) {
      const r = await rsctl([...DEAD, ...args]);
      assert.equal(r.code, ExitCode.usage, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.match(r.stderr, /^Error \(/);
    }
  });

  test('no endpoint: exit 3 with the dial hint', async () => {
    const r = await rsctl([...DEAD, 'counter', 'get', 'k']);
    assert.equal(r.code, ExitCode.unavailable);
    assert.match(r.stderr, /Hint: check --endpoints/);
  });
});

describe('CRDT output', () => {
  test('text helpers', () => {
    assert.equal(dotText({ origin: 'region:abc', seq: 7 }), 'region:abc/7');
    assert.equal(dotText(undefined), '');
    assert.equal(hlcText({ wallMs: 0, logical: 0 }), '1970-01-01T00:00:00.000Z');
    assert.equal(hlcText({ wallMs: 1000, logical: 3 }), '1970-01-01T00:00:01.000Z+3');
    assert.equal(gapsText([{ from: 3, to: 5 }, { from: 9, to: 9 }]), '3-5,9');
    assert.equal(percentText(1), '100%');
    assert.equal(percentText(2 / 3), '66.67%');
    assert.equal(vectorText({ 'region:a': 3, 'edge:b': 1 }), 'region:a=3,edge:b=1');
    const e = { device: 'p7', seq: 2, tsMs: 0, type: 'temp', schemaVersion: 1, payload: Buffer.from('{"c":1}'), dot: undefined };
    assert.equal(eventLine(e), 'p7 2 1970-01-01T00:00:00.000Z temp v1 {"c":1}');
    const s = { key: Buffer.from('k'), value: Buffer.from('old'), tombstone: false, hlc: { wallMs: 0, logical: 1 }, dot: { origin: 'o', seq: 1 }, winner: { origin: 'o', seq: 2 } };
    assert.equal(supersededLine(s), 'k old at 1970-01-01T00:00:00.000Z+1 by o/1, lost to o/2');
    assert.equal(supersededLine({ ...s, tombstone: true }), 'k (deleted) at 1970-01-01T00:00:00.000Z+1 by o/1, lost to o/2');
  });

  test('write json: snake_case, exact member id, event fields only on events', () => {
    const text = toJson(writeJson({
      namespace: 'ns', revision: 5, vector: { 'region:a': 5 }, memberId: '18446744073709551615',
      results: [{ dot: { origin: 'region:a', seq: 5 }, hlc: { wallMs: 10, logical: 0 }, eventSeq: 0, duplicate: false }],
    }));
    assert.equal(text, '{"namespace":"ns","revision":5,"vector":{"region:a":5},"member_id":18446744073709551615,' +
      '"results":[{"dot":{"origin":"region:a","seq":5},"hlc":{"wall_ms":10,"logical":0}}]}');
  });
});
