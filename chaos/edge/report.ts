// The KPI table of an edge run as a section of the run's report page (chaos/report).

import { escapeHtml } from '../report/escape.js';
import { kpiRows, type KpiReport } from './kpi.js';

export function kpiSection(k: KpiReport): { title: string; html: string } {
  const rows = kpiRows(k).map(([a, b, c]) => `<tr><td>${escapeHtml(a)}</td><td>${escapeHtml(b)}</td><td>${escapeHtml(c)}</td></tr>`).join('');
  const html = `<table><thead><tr><th>measure</th><th>this run</th><th>published figures (CRDT delta sync over intermittent links)</th></tr></thead>` +
    `<tbody>${rows}</tbody></table><p>Target: ${escapeHtml(k.published.target)}. Raw figures: kpi.json.</p>`;
  return { title: 'Edge field KPIs', html };
}
