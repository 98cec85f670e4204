// What every rsctl command is given: its arguments and flags, the global settings, the
// output, a client (connected on first use, after the dial check), stdin, and a signal
// that fires on Ctrl-C so long-running commands (watch, keep-alive, bench) end cleanly.

import { connect } from 'node:net';
import type { Writable } from 'node:stream';
import { ATTEMPT_TIMEOUT_MS_DEFAULT, Client, parseEndpoints } from '../index.js';
import type { FlagSpec, Flags } from './args.js';
import type { ClientTlsFiles } from '../../server/util/tls-client.js';
import { DialError } from './exit.js';
import type { Output, WriteOut } from './output.js';

export const ENDPOINTS_DEFAULT = '127.0.0.1:2379';
/** etcdctl's defaults. */
export const DIAL_TIMEOUT_MS_DEFAULT = 2_000;
export const COMMAND_TIMEOUT_MS_DEFAULT = 5_000;
/** Environment variables read when --endpoints is not given (ours first, then etcdctl's). */
export const ENDPOINTS_ENV = ['RSCTL_ENDPOINTS', 'ETCDCTL_ENDPOINTS'] as const;

export interface GlobalOptions {
  endpoints: string[];
  writeOut: WriteOut;
  dialTimeoutMs: number;
  commandTimeoutMs: number;
  /** TLS files (--cacert, --cert, --key); present: the endpoints are dialled over TLS. */
  tls?: ClientTlsFiles;
}

export interface Context {
  /** The command's name, e.g. "lease grant" (for messages). */
  command: string;
  args: string[];
  flags: Flags;
  global: GlobalOptions;
  out: Output;
  /** The client over --endpoints; the first call checks that an endpoint accepts connections. */
  client(): Promise<Client>;
  /** A client over other endpoints (e.g. every member for --cluster), with the same settings. */
  clientFor(endpoints: readonly string[]): Client;
  stdin: NodeJS.ReadableStream;
  /** Where progress bars go (drawn only when it is a terminal). */
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export interface Command {
  /** One or two words: "put", "lease grant". */
  name: string;
  /** e.g. "rsctl get <key> [range_end] [flags]". */
  usage: string;
  summary: string;
  /** Longer help, shown by --help after the usage line. */
  description?: string;
  flags: FlagSpec[];
  /** Resolves with the exit code (0 when undefined); throws for failures (see exit.ts). */
  run(ctx: Context): Promise<number | void>;
}

/** A command with subcommands ("lease", "member", ...). */
export interface CommandGroup {
  name: string;
  summary: string;
  commands: Command[];
}

/**
 * Resolves once a TCP connection to any endpoint succeeds; rejects with DialError after
 * `timeoutMs` (or once every endpoint refused). Each socket is closed right away: the
 * gRPC client makes its own connections.
 */
export function dialAny(endpoints: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failures: string[] = [];
    let done = false;
    const sockets = endpoints.map((ep) => {
      const i = ep.lastIndexOf(':');
      const host = ep.slice(0, i).replace(/^\[|\]$/g, '');
      const s = connect({ host, port: Number(ep.slice(i + 1)) });
      s.once('connect', () => finish());
      s.once('error', (e: Error) => {
        failures.push(`${ep}: ${e.message}`);
        if (failures.length === endpoints.length) finish(new DialError(`could not connect to any endpoint (${failures.join('; ')})`));
      });
      return s;
    });
    const timer = setTimeout(
      () => finish(new DialError(`no endpoint of ${endpoints.join(',')} accepted a connection within ${timeoutMs} ms (--dial-timeout)`)),
      timeoutMs,
    );
    function finish(err?: Error): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      if (err === undefined) resolve();
      else reject(err);
    }
  });
}

/** The client settings of rsctl: the whole call within --command-timeout, retries included. */
export function newClient(endpoints: readonly string[], g: GlobalOptions): Client {
  return new Client({
    endpoints: parseEndpoints(endpoints),
    timeoutMs: g.commandTimeoutMs,
    attemptTimeoutMs: Math.min(ATTEMPT_TIMEOUT_MS_DEFAULT, g.commandTimeoutMs),
    ...(g.tls !== undefined ? { tls: g.tls } : {}),
  });
}
