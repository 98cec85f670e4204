// rsctl's command table, the scan of the command line (global flags anywhere, the
// command's own flags after its name), --help on every level, and running a command
// with the exit code of exit.ts. main.ts wires this to the process.

import type { Writable } from 'node:stream';
import { anyHttps, parseEndpoints, type Client } from '../index.js';
import type { ClientTlsFiles } from '../../server/util/tls-client.js';
import { FlagSet, takeFlag, UsageError, withDefaults, type FlagSpec, type Flags, flag } from './args.js';
import {
  COMMAND_TIMEOUT_MS_DEFAULT, DIAL_TIMEOUT_MS_DEFAULT, ENDPOINTS_DEFAULT, ENDPOINTS_ENV, dialAny, newClient,
  type Command, type CommandGroup, type Context, type GlobalOptions,
} from './command.js';
import { benchGroup } from './commands/bench.js';
import { crdtGroups } from './commands/crdt.js';
import { endpointGroup } from './commands/endpoint.js';
import { edgeListCommand } from './commands/edge-list.js';
import { edgeStatusCommand } from './commands/edge-status.js';
import { eventsGroup } from './commands/events.js';
import { kvCommands } from './commands/kv.js';
import { leaseGroup } from './commands/lease.js';
import { maintenanceCommands, snapshotGroup } from './commands/maintenance.js';
import { memberGroup } from './commands/member.js';
import { namespaceGroup } from './commands/namespace.js';
import { txnCommand } from './commands/txn.js';
import { versionCommand } from './commands/version.js';
import { watchCommand } from './commands/watch.js';
import { describeFailure, ExitCode, exitCodeOf } from './exit.js';
import { Output, WRITE_OUT_FORMATS, type WriteOut } from './output.js';

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'endpoints', type: 'list', arg: '<host:port,...>', default: [ENDPOINTS_DEFAULT], help: `The cluster's client endpoints (else $${ENDPOINTS_ENV.join(' or $')}).` },
  { name: 'write-out', short: 'w', type: 'string', arg: 'simple|json|table', default: 'simple', help: 'Output format.' },
  { name: 'dial-timeout', type: 'duration', arg: '<duration>', default: DIAL_TIMEOUT_MS_DEFAULT, help: 'Time to connect to an endpoint (e.g. 2s, 500ms).' },
  { name: 'command-timeout', type: 'duration', arg: '<duration>', default: COMMAND_TIMEOUT_MS_DEFAULT, help: 'Time for a request, retries included.' },
  // TLS, etcdctl's flags (and its ETCDCTL_CACERT / _CERT / _KEY variables).
  { name: 'cacert', type: 'string', arg: '<file>', help: 'CA bundle that signs the members\' certificates (TLS; https:// endpoints alone use the system\'s CAs).' },
  { name: 'cert', type: 'string', arg: '<file>', help: 'Client certificate (for --client-cert-auth; with auth on, its CN is the user).' },
  { name: 'key', type: 'string', arg: '<file>', help: 'Key of --cert.' },
  { name: 'insecure-skip-tls-verify', type: 'boolean', help: 'TLS without verifying the members\' certificates (auto-TLS members).' },
  { name: 'help', short: 'h', type: 'boolean', help: 'Show help.' },
];

const ENTRIES: Array<Command | CommandGroup> = [
  ...kvCommands, txnCommand, watchCommand, leaseGroup, memberGroup, namespaceGroup, ...crdtGroups, eventsGroup,
  { name: 'edge', summary: 'Edge replicas (issue 14)', commands: [edgeListCommand, edgeStatusCommand] }, endpointGroup, ...maintenanceCommands,
  snapshotGroup, benchGroup, versionCommand,
];

const EXIT_CODES_HELP = 'Exit codes: 0 ok, 1 the command failed (an error from the cluster, a local file), 2 usage error, 3 unavailable or timed out.';

function isGroup(e: Command | CommandGroup): e is CommandGroup {
  return 'commands' in e;
}

function flagLines(specs: readonly FlagSpec[]): string[] {
  const left = specs.map((s) => `${s.short === undefined ? '    ' : `-${s.short}, `}--${s.name}${s.arg === undefined ? '' : ` ${s.arg}`}`);
  const width = Math.max(0, ...left.map((l) => l.length));
  return specs.map((s, i) => {
    const def = s.default === undefined || s.type === 'boolean' ? '' : ` (default ${s.type === 'duration' ? durationText(s.default as number) : String(s.default)})`;
    return `  ${(left[i] as string).padEnd(width)}  ${s.help}${def}`;
  });
}

function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function commandLines(cmds: ReadonlyArray<Command | CommandGroup>): string[] {
  const all = cmds.flatMap((e) => (isGroup(e) ? e.commands : [e]));
  const width = Math.max(...all.map((c) => c.name.length));
  return all.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
}

export function rootHelp(): string {
  return [
    'rsctl: the command line of regionstore (etcd v3 API; etcdctl\'s commands and flags).',
    '',
    'Usage: rsctl [global flags] <command> [flags] [arguments]',
    '',
    'Commands:', ...commandLines(ENTRIES),
    '',
    'Global flags:', ...flagLines(GLOBAL_FLAGS),
    '',
    EXIT_CODES_HELP,
    'Run `rsctl <command> --help` for a command\'s flags.',
  ].join('\n') + '\n';
}

function groupHelp(g: CommandGroup): string {
  return [`${g.summary}.`, '', `Usage: rsctl ${g.name} <command> [flags]`, '', 'Commands:', ...commandLines(g.commands), '',
    `Run \`rsctl ${g.name} <command> --help\` for a command's flags.`].join('\n') + '\n';
}

export function commandHelp(c: Command): string {
  return [
    `${c.summary}.`, '', `Usage: ${c.usage}`, ...(c.description === undefined ? [] : ['', c.description]),
    ...(c.flags.length === 0 ? [] : ['', 'Flags:', ...flagLines(c.flags)]),
    '', 'Global flags:', ...flagLines(GLOBAL_FLAGS), '', EXIT_CODES_HELP,
  ].join('\n') + '\n';
}

export interface Parsed {
  /** undefined: no command given (or only a group). */
  command: Command | undefined;
  group: CommandGroup | undefined;
  args: string[];
  flags: Flags;
}

/** Scans argv: global flags anywhere; the first words name the command; then its flags and arguments. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const set = new FlagSet();
  set.add(GLOBAL_FLAGS);
  const flags: Flags = {};
  const words: string[] = [];
  let command: Command | undefined;
  let group: CommandGroup | undefined;
  let onlyArgs = false;
  for (let i = 0; i < argv.length;) {
    const token = argv[i] as string;
    if (!onlyArgs && token === '--') {
      onlyArgs = true;
      i++;
      continue;
    }
    const used = onlyArgs ? 0 : takeFlag(set, token, argv[i + 1], flags, command?.name ?? group?.name ?? '');
    if (used > 0) {
      i += used;
      continue;
    }
    i++;
    if (command !== undefined) {
      words.push(token);
      continue;
    }
    const pool: ReadonlyArray<Command | CommandGroup> = group?.commands ?? ENTRIES;
    const found = pool.find((e) => (group === undefined ? e.name : e.name.slice(group.name.length + 1)) === token);
    if (found === undefined) {
      if (flag.bool(flags, 'help')) break;
      const where = group === undefined ? 'rsctl' : `rsctl ${group.name}`;
      throw new UsageError(`unknown command ${JSON.stringify(token)} for ${where}`, group?.name ?? '');
    }
    if (isGroup(found)) group = found;
    else {
      command = found;
      set.add(found.flags);
    }
  }
  return { command, group, args: words, flags: withDefaults([...GLOBAL_FLAGS, ...(command?.flags ?? [])], flags) };
}

function globalOptions(flags: Flags, env: NodeJS.ProcessEnv, givenEndpoints: boolean): GlobalOptions {
  const writeOut = flag.str(flags, 'write-out') as WriteOut;
  if (!WRITE_OUT_FORMATS.includes(writeOut)) throw new UsageError(`--write-out must be one of ${WRITE_OUT_FORMATS.join(', ')}, got ${JSON.stringify(writeOut)}`);
  const fromEnv = ENDPOINTS_ENV.map((k) => env[k]).find((v) => v !== undefined && v !== '');
  const given = givenEndpoints || fromEnv === undefined ? flag.list(flags, 'endpoints') : fromEnv.split(',');
  if (given.length === 0) throw new UsageError('--endpoints is empty');
  const tlsFile = (name: string, envName: string): string | undefined => {
    const v = flag.str(flags, name) ?? env[envName];
    return v === undefined || v === '' ? undefined : v;
  };
  const tls: ClientTlsFiles = {};
  const caFile = tlsFile('cacert', 'ETCDCTL_CACERT');
  const certFile = tlsFile('cert', 'ETCDCTL_CERT');
  const keyFile = tlsFile('key', 'ETCDCTL_KEY');
  if (caFile !== undefined) tls.caFile = caFile;
  if (certFile !== undefined) tls.certFile = certFile;
  if (keyFile !== undefined) tls.keyFile = keyFile;
  if (flag.bool(flags, 'insecure-skip-tls-verify')) tls.insecureSkipVerify = true;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--cert and --key go together: give both or neither');
  const useTls = Object.keys(tls).length > 0 || anyHttps(given);
  return {
    // host:port each (a scheme is dropped: Node's HTTP/2 server refuses one in :authority).
    endpoints: parseEndpoints(given),
    ...(useTls ? { tls } : {}),
    writeOut,
    dialTimeoutMs: flag.int(flags, 'dial-timeout') as number,
    commandTimeoutMs: flag.int(flags, 'command-timeout') as number,
  };
}

export interface Io {
  stdout: Writable;
  stderr: Writable;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
}

/** Runs one command line; resolves with the exit code (errors are printed, never thrown). */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let parsed: Parsed | undefined;
  const clients: Client[] = [];
  try {
    parsed = parseCommandLine(argv);
    const { command, group, flags } = parsed;
    if (flag.bool(flags, 'help') || command === undefined) {
      const help = command !== undefined ? commandHelp(command) : group !== undefined ? groupHelp(group) : rootHelp();
      if (command === undefined && !flag.bool(flags, 'help')) {
        io.stderr.write(help);
        return ExitCode.usage;
      }
      io.stdout.write(help);
      return ExitCode.ok;
    }
    const g = globalOptions(flags, io.env, argv.some((a) => a === '--endpoints' || a.startsWith('--endpoints=')));
    let dialed: Promise<Client> | undefined;
    const ctx: Context = {
      command: command.name,
      args: parsed.args,
      flags,
      global: g,
      out: new Output(g.writeOut, io.stdout, io.stderr),
      client: () => (dialed ??= dialAny(g.endpoints, g.dialTimeoutMs).then(() => {
        const c = newClient(g.endpoints, g);
        clients.push(c);
        return c;
      })),
      clientFor: (endpoints) => {
        const c = newClient(endpoints, g);
        clients.push(c);
        return c;
      },
      // A getter: touching process.stdin opens it, which only commands that read it should do.
      get stdin() {
        return io.stdin;
      },
      stderr: io.stderr,
      signal: io.signal,
    };
    return (await command.run(ctx)) ?? ExitCode.ok;
  } catch (err) {
    io.stderr.write(describeFailure(err, parsed?.command?.name ?? parsed?.group?.name ?? ''));
    return exitCodeOf(err);
  } finally {
    for (const c of clients) c.close();
  }
}
