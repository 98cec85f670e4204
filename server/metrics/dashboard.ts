// A tiny self-contained dashboard page (no external scripts, styles or fonts, so it works
// on an air-gapped host). It polls /status.json, which holds the same figures as /metrics
// in a form that needs no exposition-format parser in the browser.

/** How often the page refreshes its figures. */
export const DASHBOARD_REFRESH_MS = 1_000;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>regionstore node</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  #state { margin-bottom: 1em; color: #555; }
  .ok { color: #17803d; } .bad { color: #b42318; }
  table { border-collapse: collapse; }
  td { padding: .25em 1.2em .25em 0; border-bottom: 1px solid #eee; }
  td.v { font-variant-numeric: tabular-nums; text-align: right; font-weight: 600; }
  footer { margin-top: 1em; color: #888; font-size: .9em; }
</style>
</head>
<body>
<h1 id="title">regionstore node</h1>
<div id="state">loading…</div>
<table id="figures"></table>
<footer><a href="/metrics">/metrics</a> · <a href="/health">/health</a> · <a href="/status.json">/status.json</a></footer>
<script>
const ROWS = [
  ['term', 'Raft term'], ['commitIndex', 'commit index'], ['appliedIndex', 'applied index'],
  ['leaderChanges', 'leader changes'], ['proposalsCommitted', 'proposals committed'],
  ['proposalsFailed', 'proposals failed'], ['proposalsPending', 'proposals pending'],
  ['snapshotsSent', 'snapshots sent'], ['snapshotsReceived', 'snapshots received'],
  ['keys', 'keys'], ['dbSizeBytes', 'database size (bytes)'],
];
function cell(text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; }
async function refresh() {
  const state = document.getElementById('state');
  try {
    const [st, health] = await Promise.all([
      fetch('/status.json').then((r) => r.json()),
      fetch('/health').then((r) => r.json()),
    ]);
    document.getElementById('title').textContent = 'regionstore node ' + st.name;
    const role = st.isLeader ? 'leader' : st.hasLeader ? 'follower' : 'no leader';
    const up = Math.round((Date.now() - st.startedAtMs) / 1000);
    state.className = '';
    state.replaceChildren();
    const span = document.createElement('span');
    span.className = health.health === 'true' ? 'ok' : 'bad';
    span.textContent = (health.health === 'true' ? 'healthy' : 'unhealthy: ' + health.reason);
    state.append(span, ' · ' + role + ' · up ' + up + ' s');
    const table = document.getElementById('figures');
    table.replaceChildren(...ROWS.map(([key, label]) => {
      const tr = document.createElement('tr');
      tr.append(cell(label), cell(String(st[key] ?? '–'), 'v'));
      return tr;
    }));
  } catch (err) {
    state.className = 'bad';
    state.textContent = 'node not answering: ' + err;
  }
}
refresh();
setInterval(refresh, ${DASHBOARD_REFRESH_MS});
</script>
</body>
</html>
`;
