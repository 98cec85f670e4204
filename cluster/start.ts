// `npm start`: a local region cluster in the foreground. Starts the nodes (restarting the
// same members if ./data holds a cluster), prints where to reach them, relays each node's
// log lines prefixed with its name, and on Ctrl-C (SIGINT) or SIGTERM stops every node —
// SIGTERM, then SIGKILL after a timeout — and exits. A second Ctrl-C kills at once.
import { USAGE, parseClusterArgs, summaryLines } from './cli-common.js';
import { startCluster, type LocalCluster } from './launcher.js';
import type { LineSink } from './processes.js';

/** How long after start to keep looking for a leader before saying there is none. */
export const LEADER_WAIT_MS = 15_000;
const COLOURS = [36, 33, 35, 32, 34, 31, 90]; // ANSI cyan, yellow, magenta, green, blue, red, grey

function prefixer(): LineSink {
  const tty = process.stdout.isTTY === true;
  return (name, line, stream) => {
    const index = Number(name.replace(/\D/g, '')) || 0;
    const tag = `[${name}]`;
    const prefix = tty ? `\x1b[${COLOURS[index % COLOURS.length]}m${tag}\x1b[0m` : tag;
    (stream === 'stdout' ? process.stdout : process.stderr).write(`${prefix} ${line}\n`);
  };
}

function handleSignals(cluster: LocalCluster): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`\nregionstore: ${sig} again, killing every node now`);
      for (const n of cluster.nodes) if (n.running) try { process.kill(n.pid, 'SIGKILL'); } catch { /* gone */ }
      process.exit(1);
    }
    stopping = true;
    console.error(`\nregionstore: ${sig}, stopping ${cluster.nodes.length} nodes (Ctrl-C again to kill them)`);
    cluster.stop().then(
      () => {
        console.error('regionstore: all nodes stopped');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`regionstore: stopping failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  for (const n of cluster.nodes) {
    // A node that dies on its own is reported, not restarted: the others keep serving
    // (that is the point of a cluster) and the log above says why it died.
    n.process.once('exit', (code, signal) => {
      if (!stopping) console.error(`regionstore: ${n.name} exited (${signal ?? `code ${code}`}); the others keep running`);
    });
  }
}

async function reportLeader(cluster: LocalCluster): Promise<void> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  while (Date.now() < deadline) {
    const leader = await cluster.leader();
    if (leader !== undefined) {
      console.error(`regionstore: ${leader} is the leader`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.error(`regionstore: no leader after ${LEADER_WAIT_MS / 1000} s; see the node logs above`);
}

async function main(): Promise<void> {
  const args = parseClusterArgs(process.argv.slice(2), false);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const cluster = await startCluster({
    dataDir: args.dataDir, ...(args.nodes === undefined ? {} : { nodes: args.nodes }), onLine: prefixer(),
  });
  handleSignals(cluster);
  console.log(summaryLines(cluster.file, cluster.dataDir).join('\n'));
  console.log('Ctrl-C stops every node.\n');
  await reportLeader(cluster);
}

main().catch((err: unknown) => {
  console.error(`regionstore: ${(err as Error).message}`);
  process.exit(1);
});
