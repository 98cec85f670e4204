// The dashboard page on the metrics port: an operator's view of the region as this member
// sees it (members, edges, namespaces, leader changes, active alerts) and of this process.
// Self-contained (no external scripts, styles or fonts, so it works on an air-gapped host);
// it polls /dashboard.json (dashboard-data.ts; region members only) and /status.json +
// /health (every process, edges too). Text is only ever set with textContent: names come
// from operators and edges, never markup. Metadata only: no key or value is ever shown.

/** How often the page refreshes its figures. */
export const DASHBOARD_REFRESH_MS = 2_000;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>regionstore</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  h2 { font-size: 1.05em; margin: 1.4em 0 .4em; }
  #state { color: #555; }
  .ok { color: #17803d; } .bad { color: #b42318; } .warn { color: #a15c07; } .muted { color: #888; }
  table { border-collapse: collapse; }
  th { text-align: left; font-weight: 600; color: #555; border-bottom: 2px solid #ddd; padding: .25em 1.2em .25em 0; }
  td { padding: .25em 1.2em .25em 0; border-bottom: 1px solid #eee; }
  td.n { font-variant-numeric: tabular-nums; text-align: right; }
  ul { margin: .2em 0; padding-left: 1.2em; }
  li.critical { color: #b42318; } li.warning { color: #a15c07; }
  footer { margin-top: 1.5em; color: #888; font-size: .9em; }
</style>
</head>
<body>
<h1 id="title">regionstore</h1>
<div id="state">loading…</div>
<section id="region" hidden>
<h2>Alerts</h2>
<ul id="alerts"></ul>
<h2>Members</h2>
<table><thead><tr><th>name</th><th>id</th><th>role</th><th>term</th><th>applied index</th><th>raft index</th><th>health</th></tr></thead><tbody id="members"></tbody></table>
<h2>Edges</h2>
<table><thead><tr><th>replica</th><th>device</th><th>connected</th><th>last seen</th><th>lag (ops)</th><th>lag (s)</th><th>bytes in</th><th>bytes out</th><th>skew (ms)</th><th>member</th></tr></thead><tbody id="edges"></tbody></table>
<h2>Namespaces</h2>
<table><thead><tr><th>name</th><th>prefix</th><th>level</th><th>type</th><th>keys</th><th>unresolved conflicts</th><th>completeness</th></tr></thead><tbody id="namespaces"></tbody></table>
<h2>Recent leader changes</h2>
<table><thead><tr><th>when</th><th>leader</th><th>term</th></tr></thead><tbody id="leaders"></tbody></table>
</section>
<h2>This process</h2>
<table id="figures"></table>
<footer><a href="/metrics">/metrics</a> · <a href="/health">/health</a> · <a href="/status.json">/status.json</a> · <a href="/dashboard.json">/dashboard.json</a> · <span id="updated"></span></footer>
<script>
const FIGURES = [
  ['term', 'Raft term'], ['commitIndex', 'commit index'], ['appliedIndex', 'applied index'],
  ['leaderChanges', 'leader changes'], ['proposalsCommitted', 'proposals committed'],
  ['proposalsFailed', 'proposals failed'], ['proposalsPending', 'proposals pending'],
  ['snapshotsSent', 'snapshots sent'], ['snapshotsReceived', 'snapshots received'],
  ['keys', 'keys'], ['dbSizeBytes', 'database size (bytes)'],
];
const $ = (id) => document.getElementById(id);
function cell(text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; }
function row(kind, cells) { const tr = document.createElement('tr'); tr.className = kind + '-row'; tr.append(...cells); return tr; }
const num = (v) => (v === undefined || v === null ? '–' : String(v));
function ago(ms) {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? s + ' s ago' : s < 7200 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
}
function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
}
function fill(id, rows, empty, columns) {
  const body = $(id);
  if (rows.length > 0) { body.replaceChildren(...rows); return; }
  const tr = document.createElement('tr');
  const td = cell(empty, 'muted'); td.colSpan = columns; tr.append(td);
  body.replaceChildren(tr);
}
function renderRegion(d) {
  $('region').hidden = false;
  const names = new Map(d.members.map((m) => [m.id, m.name]));
  const alerts = d.alerts.map((a) => { const li = document.createElement('li'); li.className = a.severity + ' alert-row'; li.textContent = a.severity + ' · ' + a.name + ': ' + a.summary; return li; });
  if (alerts.length === 0) { const li = document.createElement('li'); li.className = 'ok'; li.textContent = 'no active alerts'; alerts.push(li); }
  $('alerts').replaceChildren(...alerts);
  fill('members', d.members.map((m) => row('member', [
    cell(m.name + (m.self ? ' (this member)' : '')), cell(m.id), cell(m.role, m.role === 'unknown' ? 'bad' : ''),
    cell(num(m.term), 'n'), cell(num(m.appliedIndex), 'n'), cell(num(m.raftIndex), 'n'),
    cell(m.healthy ? 'healthy' : 'unhealthy: ' + m.reason, m.healthy ? 'ok' : 'bad'),
  ])), 'no members', 7);
  fill('edges', d.edges.map((e) => row('edge', [
    cell(e.replicaId), cell(e.device), cell(e.connected ? 'connected' : 'offline', e.connected ? 'ok' : 'warn'), cell(ago(e.lastSeenMs)),
    cell(num(e.lagOps), 'n'), cell(e.lagSeconds.toFixed(1), 'n'), cell(bytes(e.bytesIn), 'n'), cell(bytes(e.bytesOut), 'n'),
    cell(num(e.skewMs), 'n'), cell(e.member === '' ? '–' : (names.get(e.member) || e.member)),
  ])), 'no edge has synced with this region yet', 10);
  fill('namespaces', d.namespaces.map((n) => row('namespace', [
    cell(n.name), cell(JSON.stringify(n.prefix)), cell(n.level), cell(n.crdtType), cell(num(n.keys), 'n'),
    cell(num(n.unresolvedConflicts), 'n'), cell(n.completeness === undefined ? '–' : (n.completeness * 100).toFixed(1) + ' %', 'n'),
  ])), 'no namespaces', 7);
  fill('leaders', d.leaderChanges.map((c) => row('leader', [
    cell(new Date(c.atMs).toISOString().replace('T', ' ').slice(0, 19) + ' UTC (' + ago(c.atMs) + ')'),
    cell(names.get(c.leader) ? names.get(c.leader) + ' (' + c.leader + ')' : c.leader), cell(num(c.term), 'n'),
  ])), 'none seen since this member started', 3);
}
async function refresh() {
  const state = $('state');
  try {
    const [st, health, region] = await Promise.all([
      fetch('/status.json').then((r) => r.json()),
      fetch('/health').then((r) => r.json()),
      fetch('/dashboard.json').then((r) => (r.ok ? r.json() : undefined)),
    ]);
    const role = region ? region.self.role : st.isLeader ? 'leader' : st.hasLeader ? 'follower' : 'no leader';
    $('title').textContent = (region ? 'regionstore region · member ' : 'regionstore ') + st.name;
    const up = Math.round((Date.now() - st.startedAtMs) / 1000);
    const span = document.createElement('span');
    span.className = health.health === 'true' ? 'ok' : 'bad';
    span.textContent = health.health === 'true' ? 'healthy' : 'unhealthy: ' + health.reason;
    state.className = '';
    state.replaceChildren(span, ' · ' + role + ' · up ' + up + ' s' + (region ? ' · ' + region.alerts.length + ' active alert(s)' : ''));
    if (region) renderRegion(region);
    $('figures').replaceChildren(...FIGURES.filter(([key]) => st[key] !== undefined).map(([key, label]) => row('figure', [cell(label), cell(String(st[key]), 'n')])));
    $('updated').textContent = 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC, every ${DASHBOARD_REFRESH_MS / 1000} s';
  } catch (err) {
    state.className = 'bad';
    state.textContent = 'not answering: ' + err;
  }
}
refresh();
setInterval(refresh, ${DASHBOARD_REFRESH_MS});
</script>
</body>
</html>
`;
