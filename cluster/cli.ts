// `npm run cluster -- up|down|status [--nodes N] [--data DIR]`: a local cluster in the
// background. `up` starts detached nodes (pids in DIR/cluster.json, logs in DIR/<name>.log),
// `down` stops them by those pids, `status` asks each node's /health and /status.json.
import { resolve } from 'node:path';
import { USAGE, parseClusterArgs, summaryLines, type ClusterArgs } from './cli-common.js';
import { recordedPidAlive, startCluster } from './launcher.js';
import { nodeUrls, readClusterFile, writeClusterFile, type ClusterFile } from './plan.js';
import { probeHealth, probeStatus } from './probe.js';
import { stopPid } from './processes.js';

function requireFile(dataDir: string): ClusterFile {
  const file = readClusterFile(dataDir);
  if (file === undefined) throw new Error(`no cluster in ${dataDir} (no cluster.json); start one with \`npm run cluster -- up\``);
  return file;
}

async function up(args: ClusterArgs): Promise<number> {
  const cluster = await startCluster({
    dataDir: args.dataDir, detached: true, ...(args.nodes === undefined ? {} : { nodes: args.nodes }),
  });
  console.log(summaryLines(cluster.file, cluster.dataDir).join('\n'));
  console.log(`logs: ${cluster.dataDir}/<name>.log · stop with: npm run cluster -- down`);
  return 0;
}

async function down(args: ClusterArgs): Promise<number> {
  const dataDir = resolve(args.dataDir);
  const file = requireFile(dataDir);
  const running = file.nodes.filter((n) => recordedPidAlive(dataDir, n));
  if (running.length === 0) console.log('no node of this cluster is running');
  await Promise.all(running.map(async (n) => {
    const how = await stopPid(n.pid as number);
    console.log(`${n.name} (pid ${n.pid}) ${how === 'exited' ? 'stopped' : 'did not stop in time and was killed'}`);
  }));
  for (const n of file.nodes) delete n.pid;
  writeClusterFile(dataDir, file);
  return 0;
}

async function status(args: ClusterArgs): Promise<number> {
  const dataDir = resolve(args.dataDir);
  const file = requireFile(dataDir);
  const rows = await Promise.all(file.nodes.map(async (n) => {
    const u = nodeUrls(file, n, dataDir);
    const [health, st] = await Promise.all([probeHealth(u.metricsUrl), probeStatus(u.metricsUrl)]);
    const proc = n.pid === undefined ? 'no pid' : recordedPidAlive(dataDir, n) ? `pid ${n.pid}` : `pid ${n.pid} gone`;
    const state = !health.up ? 'down' : health.healthy ? 'healthy' : `unhealthy (${health.reason})`;
    const role = st?.isLeader === true ? 'leader' : st?.hasLeader === true ? 'follower' : '-';
    const figures = st === undefined ? '' : `term ${st.term ?? '?'} applied ${st.appliedIndex ?? '?'}`;
    return { healthy: health.healthy, leader: st?.isLeader === true ? n.name : undefined,
      line: `  ${n.name.padEnd(4)} ${u.clientUrl.padEnd(24)} ${proc.padEnd(16)} ${state.padEnd(10)} ${role.padEnd(8)} ${figures}` };
  }));
  for (const r of rows) console.log(r.line);
  const leaders = rows.flatMap((r) => (r.leader === undefined ? [] : [r.leader]));
  console.log(leaders.length === 0 ? '\nno leader' : `\nleader: ${leaders.join(', ')}`);
  // Exit status for scripts: 0 only when every node is healthy.
  return rows.every((r) => r.healthy) ? 0 : 1;
}

async function main(): Promise<number> {
  const args = parseClusterArgs(process.argv.slice(2), true);
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  switch (args.command) {
    case 'up': return up(args);
    case 'down': return down(args);
    case 'status': return status(args);
    default: return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`cluster: ${(err as Error).message}`);
    process.exit(1);
  },
);
