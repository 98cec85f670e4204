import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatOp, type HistoryOp } from './op.js';
import { HistoryFormatError, parseHistory, readHistoryFile } from './reader.js';
import { RunClock } from './run-clock.js';
import { BUFFER_BYTES_MAX, HistoryWriter } from './writer.js';

function op(over: Partial<HistoryOp> = {}): HistoryOp {
  return {
    process: 0, key: 'k', op: 'put', value: 'a', expected: null, output: null,
    call: 10, return: 20, status: 'ok', ...over,
  };
}

function line(over: Partial<HistoryOp> | Record<string, unknown>): string {
  return JSON.stringify({ ...op(), ...over });
}

function defect(text: string): HistoryFormatError {
  try {
    parseHistory(text);
  } catch (err) {
    assert.ok(err instanceof HistoryFormatError, String(err));
    return err;
  }
  assert.fail(`parsed without error: ${text}`);
}

describe('history format', () => {
  it('writes the nine fields in a fixed order', () => {
    assert.equal(
      formatOp(op({ op: 'cas', expected: null, value: 'b', output: 'ok' })),
      '{"process":0,"key":"k","op":"cas","value":"b","expected":null,"output":"ok","call":10,"return":20,"status":"ok"}',
    );
  });

  it('reads every kind of operation back', () => {
    const ops = [
      op(),
      op({ process: 1, op: 'get', value: null, output: null, call: 5, return: 30 }),
      op({ process: 2, op: 'get', value: null, output: 'a', call: 25, return: 40 }),
      op({ process: 3, op: 'cas', value: 'b', expected: 'a', output: 'fail' }),
      op({ process: 4, op: 'delete', value: null, output: 'ok' }),
      op({ process: 5, status: 'unknown', return: 1_000_000_000_000 }),
      op({ process: 6, op: 'cas', value: 'c', expected: null, status: 'fail' }),
    ];
    const parsed = parseHistory(ops.map(formatOp).join('\n') + '\n');
    assert.deepEqual(parsed.ops, ops);
    assert.deepEqual(parsed.lines, [1, 2, 3, 4, 5, 6, 7]);
  });

  it('accepts an empty file and a file without a final newline', () => {
    assert.deepEqual(parseHistory('').ops, []);
    assert.equal(parseHistory(formatOp(op())).ops.length, 1);
  });
});

describe('history reader defects name the line and what is wrong', () => {
  const good = formatOp(op());
  const cases: Array<[string, string, number, RegExp]> = [
    ['not JSON', `${good}\n{"process":`, 2, /not valid JSON/],
    ['an array', `[1,2]`, 1, /expected a JSON object/],
    ['an empty line inside', `${good}\n\n${good}\n`, 2, /empty line/],
    ['a missing field', JSON.stringify({ process: 0, key: 'k' }), 1, /missing field "op"/],
    ['an extra field', line({ extra: 1 }), 1, /unknown field "extra"/],
    ['a fractional process', line({ process: 1.5 }), 1, /"process" must be a non-negative integer/],
    ['a string time', line({ call: '10' }), 1, /"call" must be a non-negative integer \(ns\)/],
    ['a float time', line({ return: 20.5 }), 1, /"return" must be a non-negative integer/],
    ['a bad op', line({ op: 'incr' }), 1, /"op" must be one of "put", "get", "cas", "delete", got "incr"/],
    ['a bad status', line({ status: 'timeout' }), 1, /"status" must be one of/],
    ['a numeric value', line({ value: 3 }), 1, /"value" must be a string or null/],
    ['return before call', line({ call: 30, return: 20 }), 1, /"return" \(20\) is before "call" \(30\)/],
    ['a put without value', line({ value: null }), 1, /a put needs a string "value"/],
    ['a get with a value', line({ op: 'get' }), 1, /a get has no "value"/],
    ['a put with expected', line({ expected: 'x' }), 1, /a put has no "expected"/],
    ['a cas output that is not ok/fail', line({ op: 'cas', output: 'yes' }), 1, /has output "ok" or "fail"/],
    ['an output on an unknown op', line({ op: 'get', value: null, output: 'a', status: 'unknown' }), 1,
      /"output" must be null when status is "unknown"/],
  ];
  for (const [name, text, lineNo, message] of cases) {
    it(name, () => {
      const err = defect(text);
      assert.equal(err.line, lineNo, err.message);
      assert.match(err.detail, message);
      assert.match(err.message, new RegExp(`^line ${lineNo}: `));
    });
  }

  it('a process that overlaps itself', () => {
    const text = [
      line({ process: 1, call: 0, return: 10 }),
      line({ process: 2, call: 5, return: 50 }),
      line({ process: 1, call: 10, return: 20 }),
      line({ process: 2, call: 40, return: 60 }),
    ].join('\n');
    const err = defect(text);
    assert.equal(err.line, 4);
    assert.match(err.detail, /process 2 overlaps itself: its operation on line 4 is called at 40 ns/);
    assert.match(err.detail, /line 2 \(called at 5 ns\) returns only at 50 ns/);
  });
});

describe('HistoryWriter', () => {
  it('appends, flushes and closes; the reader reads it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    try {
      const path = join(dir, 'history.jsonl');
      const w = await HistoryWriter.create(path);
      w.append(op());
      await w.flush();
      assert.equal(await readFile(path, 'utf8'), formatOp(op()) + '\n');
      w.append(op({ process: 1, op: 'get', value: null, output: 'a', call: 30, return: 40 }));
      await w.close();
      assert.equal(w.appended, 2);
      const parsed = await readHistoryFile(path);
      assert.equal(parsed.ops.length, 2);
      assert.equal(parsed.ops[1]?.output, 'a');
      assert.throws(() => w.append(op()), /append after close/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an invalid operation at append', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    try {
      const w = await HistoryWriter.create(join(dir, 'h.jsonl'));
      assert.throws(() => w.append(op({ op: 'get' })), /a get has no "value"/);
      await w.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps append order across automatic flushes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    try {
      const path = join(dir, 'h.jsonl');
      const w = await HistoryWriter.create(path);
      const big = 'x'.repeat(4096);
      const n = Math.ceil((3 * BUFFER_BYTES_MAX) / big.length);
      for (let i = 0; i < n; i++) w.append(op({ process: i, value: big, call: i, return: i + 1 }));
      await w.close();
      const parsed = await readHistoryFile(path);
      assert.deepEqual(parsed.ops.map((o) => o.process), Array.from({ length: n }, (_, i) => i));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('RunClock', () => {
  it('counts integer nanoseconds from its creation', () => {
    let t = 5_000n;
    const clock = new RunClock(() => t);
    assert.equal(clock.nowNs(), 0);
    t += 1_234n;
    assert.equal(clock.nowNs(), 1_234);
    assert.ok(Number.isSafeInteger(new RunClock().nowNs()));
  });
});
