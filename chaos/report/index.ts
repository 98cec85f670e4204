// The run report: a self-contained HTML page and a JSON summary.
export type { FaultInterval, RunRecord } from './record.js';
export { runDurationNs } from './record.js';
export { latencyStats, percentile, summarizeRun, type LatencyStats, type RunSummary } from './summary.js';
export { renderReportHtml } from './html.js';
export { renderTimeline } from './timeline.js';
export { REPORT_HTML, SUMMARY_JSON, writeReport } from './write.js';
