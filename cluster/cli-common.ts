// Argument parsing and the printed summary shared by `npm start` (start.ts) and
// `npm run cluster` (cli.ts). Pure, so tests check them without processes.
import { relative, resolve } from 'node:path';
import { NODES_MAX, etcdctlLine, nodeUrls, type ClusterFile } from './plan.js';

export const DATA_DIR_DEFAULT = './data';
export const COMMANDS = ['up', 'down', 'status'] as const;
export type ClusterCommand = (typeof COMMANDS)[number];

export interface ClusterArgs {
  command: ClusterCommand | undefined;
  /** Undefined: 3 for a new cluster, whatever cluster.json says for an existing one. */
  nodes: number | undefined;
  dataDir: string;
  help: boolean;
}

export const USAGE = `Usage:
  npm start [-- --nodes N] [--data DIR]          run a local cluster in the foreground; Ctrl-C stops it
  npm run cluster -- up [--nodes N] [--data DIR] start it in the background (logs in DIR/<name>.log)
  npm run cluster -- status [--data DIR]         health and leader of each node
  npm run cluster -- down [--data DIR]           stop the background cluster

--nodes  members of a new cluster, 1 to ${NODES_MAX} (default 3); an existing DIR keeps its own
--data   where cluster.json and each node's data live (default ${DATA_DIR_DEFAULT})
A second start on the same DIR restarts the same members on the same ports.`;

/** Parses argv (after the script name); throws a message with the fix on bad input. */
export function parseClusterArgs(argv: readonly string[], commandRequired: boolean): ClusterArgs {
  const out: ClusterArgs = { command: undefined, nodes: undefined, dataDir: DATA_DIR_DEFAULT, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value\n\n${USAGE}`);
      return v;
    };
    if (flag === '-h' || flag === '--help' || flag === 'help') out.help = true;
    else if (flag === '--nodes' || flag === '-n') {
      const text = value();
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < 1 || n > NODES_MAX) throw new Error(`--nodes must be a whole number from 1 to ${NODES_MAX}, not "${text}"`);
      out.nodes = n;
    } else if (flag === '--data' || flag === '--data-dir') out.dataDir = value();
    else if (commandRequired && out.command === undefined && (COMMANDS as readonly string[]).includes(flag)) {
      out.command = flag as ClusterCommand;
    } else throw new Error(`unexpected argument "${arg}"\n\n${USAGE}`);
  }
  if (commandRequired && out.command === undefined && !out.help) {
    throw new Error(`say what to do: ${COMMANDS.join(', ')}\n\n${USAGE}`);
  }
  return out;
}

/** A path as a person would type it from the current directory. */
function shown(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel === '' ? '.' : rel.startsWith('..') ? resolve(path) : `./${rel}`;
}

/** The lines printed once a cluster is up: endpoints, metrics pages, an etcdctl line. */
export function summaryLines(file: ClusterFile, dataDir: string): string[] {
  const lines = [`regionstore: ${file.nodes.length}-node cluster, data in ${shown(dataDir)}`, ''];
  for (const n of file.nodes) {
    const u = nodeUrls(file, n, dataDir);
    lines.push(`  ${n.name}  client ${u.clientUrl}  metrics ${u.metricsUrl}/metrics  dashboard ${u.metricsUrl}/`);
  }
  const endpoints = file.nodes.map((n) => nodeUrls(file, n, dataDir).clientUrl).join(',');
  lines.push('', `  endpoints: ${endpoints}`, `  try:       ${etcdctlLine(file, dataDir)}`, '');
  return lines;
}
