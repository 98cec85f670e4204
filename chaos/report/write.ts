// Writes a run's report files: report.html and summary.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderReportHtml } from './html.js';
import type { RunRecord } from './record.js';
import { summarizeRun, type RunSummary } from './summary.js';

export const REPORT_HTML = 'report.html';
export const SUMMARY_JSON = 'summary.json';

export async function writeReport(dir: string, record: RunRecord): Promise<{ html: string; json: string; summary: RunSummary }> {
  await mkdir(dir, { recursive: true });
  const summary = summarizeRun(record);
  const html = join(dir, REPORT_HTML);
  const json = join(dir, SUMMARY_JSON);
  await writeFile(html, renderReportHtml(record, summary));
  await writeFile(json, JSON.stringify(summary, null, 2) + '\n');
  return { html, json, summary };
}
