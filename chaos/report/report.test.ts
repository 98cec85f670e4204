import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { put } from '../checker/testing/ops.js';
import { renderReportHtml } from './html.js';
import type { FaultInterval, RunRecord } from './record.js';
import { latencyStats, mergeIntervals, percentile, summarizeRun } from './summary.js';
import { sampleRecord } from './testing.js';
import { writeReport } from './write.js';

const MS = 1_000_000;
/** Where Debian's headless Chromium lands; the screenshot test runs only where it is. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-headless-shell', '/usr/lib/chromium/chromium-headless-shell']
  .find((p) => existsSync(p));
if (CHROMIUM === undefined) {
  console.error('\n!!! SKIPPING the report screenshot: Chromium is not installed (Debian package chromium; .ci/run installs it) !!!\n');
}

const fault = (start: number, end: number): FaultInterval => ({ start, end, kind: 'k', detail: '' });

describe('run summary', () => {
  it('nearest-rank percentiles', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([5], 99), 5);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual([50, 90, 99, 100].map((p) => percentile(hundred, p)), [50, 90, 99, 100]);
    assert.deepEqual(latencyStats([3 * MS, 1 * MS, 2 * MS]), { count: 3, p50Ms: 2, p90Ms: 3, p99Ms: 3, maxMs: 3 });
  });

  it('merges overlapping fault intervals', () => {
    assert.deepEqual(mergeIntervals([fault(5, 8), fault(0, 2), fault(1, 3), fault(8, 9)]), [[0, 3], [5, 9]]);
  });

  it('splits latency by whether an operation overlapped a fault', () => {
    const record: RunRecord = {
      title: 't',
      history: [put(1, 'a', 0, 1 * MS), put(1, 'b', 10 * MS, 30 * MS), put(2, 'c', 50 * MS, 52 * MS)],
      faults: [{ start: 20 * MS, end: 40 * MS, kind: 'partition', detail: '[1] | [2 3]' }],
      results: [],
    };
    const s = summarizeRun(record);
    assert.deepEqual(s.latency.underFaults, { count: 1, p50Ms: 20, p90Ms: 20, p99Ms: 20, maxMs: 20 });
    assert.equal(s.latency.withoutFaults.count, 2);
    assert.equal(s.verdict, 'unknown', 'no checker ran');
    assert.deepEqual(s.faults.byKind, { partition: { count: 1, seconds: 0.02 } });
  });
});

describe('HTML report', () => {
  const record = sampleRecord(3);
  const html = renderReportHtml(record);

  it('is one self-contained document', () => {
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /<script|<link|<img|@import|url\(/i, 'nothing loaded from elsewhere');
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<]+/g)].map((m) => m[0]);
    assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg'], 'only the SVG namespace');
  });

  it('has the verdict, the summary, the latency split and the replay line', () => {
    assert.match(html, /<h1>sample run \(seed 3\) <span class="verdict violation">VIOLATION<\/span><\/h1>/);
    assert.match(html, /<td>linearizability<\/td><td><span class="verdict violation">/);
    assert.match(html, /<td>bank<\/td><td><span class="verdict ok">PASS/);
    assert.match(html, /overlapping a fault<\/td><td class="num">\d+<\/td>/);
    assert.match(html, /no fault<\/td><td class="num">\d+<\/td>/);
    assert.match(html, /Replay: <code>npm run chaos -- --nodes 3 --time 5 --seed 3<\/code>/);
  });

  it('draws a row per process, a bar per operation, shaded faults and highlighted violations', () => {
    const processes = new Set(record.history.map((o) => o.process));
    for (const p of processes) assert.ok(html.includes(`class="proc">p${p}</text>`), `row of p${p}`);
    const bars = html.match(/<rect class="op /g) ?? [];
    assert.equal(bars.length, record.history.length);
    assert.ok((html.match(/class="op unknown"/g) ?? []).length > 0);
    assert.ok((html.match(/class="op fail"/g) ?? []).length > 0);
    const highlighted = record.results.flatMap((r) => r.highlight);
    assert.ok(highlighted.length > 0);
    assert.equal((html.match(/class="op violation"/g) ?? []).length, new Set(highlighted).size);
    assert.match(html, /<text [^>]*class="fault-label"[^>]*>partition \[1\] \| \[2 3\]<\/text>/);
    assert.match(html, /class="fault-label"[^>]*>kill node 2 \(leader\)<\/text>/);
    assert.match(html, /<title>partition \[1\] \| \[2 3\]: 1\.000s – 2\.200s<\/title>/);
  });

  it('shows each checker\'s details, escaped', () => {
    assert.match(html, /<h2>Checker details<\/h2>/);
    assert.match(html, /key &quot;k\d&quot;: NOT LINEARIZABLE/);
    assert.match(html, /← no order explains this result/);
  });

  it('writes report.html and summary.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-report-'));
    try {
      const { html: htmlPath, json } = await writeReport(join(dir, 'out'), record);
      assert.equal(await readFile(htmlPath, 'utf8'), html);
      const summary = JSON.parse(await readFile(json, 'utf8')) as ReturnType<typeof summarizeRun>;
      assert.equal(summary.verdict, 'violation');
      assert.equal(summary.ops.total, record.history.length);
      assert.deepEqual(summary.checkers.map((c) => c.verdict), ['violation', 'ok', 'ok']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders in headless Chromium', { skip: CHROMIUM === undefined && 'no chromium here (Debian package chromium)' }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chaos-report-'));
    try {
      const { html: htmlPath } = await writeReport(dir, record);
      const png = join(dir, 'report.png');
      const run = spawnSync(CHROMIUM!, [
        '--headless', '--no-sandbox', '--disable-gpu', `--screenshot=${png}`, '--window-size=1400,1000', `file://${htmlPath}`,
      ], { encoding: 'utf8', timeout: 60_000 });
      assert.ok((await stat(png)).size > 10_000, run.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
