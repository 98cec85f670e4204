// rsctl without a cluster: the command line scan, flags, durations, the txn script,
// JSON with exact 64-bit ids, tables, and which error gives which exit code.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeadlineExceededError, GrpcCode, InvalidArgumentError, UnavailableError } from '../index.js';
import { parseDurationMs, UsageError } from './args.js';
import { parseCommandLine } from './cli.js';
import { DialError, ExitCode, exitCodeOf } from './exit.js';
import { RawNumber, renderTable, toJson } from './output.js';
import { rsctl } from './testing/run.js';
import { parseTxnScript, tokenize } from './txn-parse.js';

describe('command line', () => {
  test('global flags anywhere, command flags after the command, defaults filled in', () => {
    const p = parseCommandLine(['-w', 'json', 'get', 'k', '--prefix', '--endpoints=a:1,b:2', '--limit', '3']);
    assert.equal(p.command?.name, 'get');
    assert.deepEqual(p.args, ['k']);
    assert.equal(p.flags['write-out'], 'json');
    assert.deepEqual(p.flags['endpoints'], ['a:1', 'b:2']);
    assert.equal(p.flags['prefix'], true);
    assert.equal(p.flags['limit'], 3);
    assert.equal(p.flags['consistency'], 'l');
    assert.equal(p.flags['command-timeout'], 5_000);
  });

  test('two-word commands, -- ends the flags, booleans take =false', () => {
    const p = parseCommandLine(['lease', 'grant', '--', '-5']);
    assert.equal(p.command?.name, 'lease grant');
    assert.deepEqual(p.args, ['-5']);
    assert.equal(parseCommandLine(['get', 'k', '--prefix=false']).flags['prefix'], false);
    assert.equal(parseCommandLine(['lease']).group?.name, 'lease');
  });

  test('version needs no cluster', async () => {
    const r = await rsctl(['version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^rsctl version: \d+\.\d+\.\d+\nAPI version: 3\.5\n$/);
  });

  test('usage errors name what is wrong', () => {
    assert.throws(() => parseCommandLine(['nope']), /unknown command "nope"/);
    assert.throws(() => parseCommandLine(['lease', 'nope']), /unknown command "nope" for rsctl lease/);
    assert.throws(() => parseCommandLine(['--prefix', 'get', 'k']), /unknown flag --prefix/);
    assert.throws(() => parseCommandLine(['get', 'k', '--limit']), /needs a value/);
    assert.throws(() => parseCommandLine(['get', 'k', '--limit', 'x']), /whole number/);
    assert.throws(() => parseCommandLine(['get', 'k', '--prefix=maybe']), /true or false/);
  });

  test('durations', () => {
    assert.equal(parseDurationMs('5s', 'x'), 5_000);
    assert.equal(parseDurationMs('250ms', 'x'), 250);
    assert.equal(parseDurationMs('1.5m', 'x'), 90_000);
    assert.equal(parseDurationMs('3', 'x'), 3_000);
    assert.throws(() => parseDurationMs('soon', 'x'), UsageError);
    assert.throws(() => parseDurationMs('0s', 'x'), UsageError);
  });
});

describe('txn script', () => {
  test('quoted words keep spaces and escapes', () => {
    assert.deepEqual(tokenize(`put k "a b\\"c\\n" 'x y'`), ['put', 'k', 'a b"c\n', 'x y']);
    assert.deepEqual(tokenize('  get   k  '), ['get', 'k']);
    assert.throws(() => tokenize('put k "open'), /unterminated/);
  });

  test('sections, compares and ops', () => {
    const s = parseTxnScript('mod("k") > "0"\nval("k") != "x"\n\nput k v --prev-kv\nget a z\n\ndel p --prefix\n');
    assert.equal(s.compares.length, 2);
    assert.deepEqual(s.compares[0]?.wire, { key: Buffer.from('k'), rangeEnd: Buffer.alloc(0), result: 1, target: 2, modRevision: '0' });
    assert.equal(s.success.length, 2);
    assert.equal(s.failure.length, 1);
    assert.ok('requestDeleteRange' in (s.failure[0]?.wire ?? {}));
    const none = parseTxnScript('\nput k v\n\n');
    assert.equal(none.compares.length, 0);
    assert.equal(none.success.length, 1);
    assert.throws(() => parseTxnScript('bogus\n\n\n'), /bad compare/);
    assert.throws(() => parseTxnScript('\nfrob k\n\n'), /expected put, get or del/);
    assert.throws(() => parseTxnScript('\nput k\n\n'), /put <key> <value>/);
  });
});

describe('output', () => {
  test('JSON keeps every digit of a 64-bit id', () => {
    assert.equal(toJson({ id: new RawNumber('18446744073709551615'), n: 1, s: 'x' }), '{"id":18446744073709551615,"n":1,"s":"x"}');
  });

  test('table', () => {
    assert.equal(renderTable(['A', 'BB'], [['1', '22222']]), '+---+-------+\n| A |  BB   |\n+---+-------+\n| 1 | 22222 |\n+---+-------+\n');
  });
});

describe('exit codes', () => {
  test('usage 2, unavailable/timeout 3, an answer 1', () => {
    assert.equal(exitCodeOf(new UsageError('x')), ExitCode.usage);
    assert.equal(exitCodeOf(new RangeError('x')), ExitCode.usage);
    assert.equal(exitCodeOf(new DialError('x')), ExitCode.unavailable);
    assert.equal(exitCodeOf(new UnavailableError({ code: GrpcCode.UNAVAILABLE, details: 'x' })), ExitCode.unavailable);
    assert.equal(exitCodeOf(new DeadlineExceededError({ code: GrpcCode.DEADLINE_EXCEEDED, details: 'x' })), ExitCode.unavailable);
    assert.equal(exitCodeOf(new InvalidArgumentError({ code: GrpcCode.INVALID_ARGUMENT, details: 'x' })), ExitCode.failed);
    assert.equal(exitCodeOf(new Error('EACCES')), ExitCode.failed);
  });
});
