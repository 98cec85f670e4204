// Metric names for the deployment checks (issue 17): the names a /metrics text exports, and
// the names a PromQL expression selects, so a test can show that every alert rule and every
// dashboard panel reads a metric regionstore really exports (a renamed metric fails the test
// instead of leaving an alert that can never fire).

/** Series Prometheus itself makes for each scraped target; no exporter has them. */
export const PROMETHEUS_MADE = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** PromQL words that look like identifiers but are not metric names. */
const PROMQL_WORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset',
  'inf', 'nan', 'atan2',
]);

/** Every metric family in a Prometheus text exposition (`# TYPE name kind`), histograms with their series' suffixes. */
export function exportedMetricNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, kind] = m as unknown as [string, string, string];
    out.add(name);
    if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
    if (kind === 'summary') for (const s of ['_sum', '_count']) out.add(name + s);
  }
  return out;
}

/**
 * The metric names a PromQL expression selects: identifiers outside strings, label matchers,
 * ranges and grouping lists, that are neither functions (followed by "(") nor keywords. Grafana
 * variables ($job) only appear inside label values here, so they are dropped with the strings.
 */
export function promqlMetricNames(expr: string): Set<string> {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out = new Set<string>();
  for (const m of s.matchAll(/(?<![\w:.$])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const name = m[1] as string;
    if (m[2] !== undefined || PROMQL_WORDS.has(name.toLowerCase())) continue;
    out.add(name);
  }
  return out;
}
