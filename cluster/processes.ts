// Child processes of the launcher: spawn a node, relay its output line by line, wait
// until it listens, and stop it (SIGTERM, then SIGKILL after a timeout).
//
// Nodes are spawned in their own process group (`detached: true`): Ctrl-C in the terminal
// then reaches only the launcher, which stops the nodes itself — all of them, with the
// escalation below — instead of every process racing on the same SIGINT.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a node gets to exit after SIGTERM before it is killed. */
export const STOP_TIMEOUT_MS = 10_000;
/** How long a node gets to start listening (tsx compiles on first start). */
export const READY_TIMEOUT_MS = 30_000;
export const POLL_INTERVAL_MS = 50;
/** Lines of a node's output kept to explain a failed start. */
export const OUTPUT_TAIL_LINES = 20;

export type LineSink = (name: string, line: string, stream: 'stdout' | 'stderr') => void;

export interface SpawnSpec {
  name: string;
  executable: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Relay output here (foreground), or append it to this file (detached, `cluster up`). */
  output: { kind: 'lines'; sink: LineSink } | { kind: 'file'; path: string };
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves with the exit code or signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of output (for errors); empty when output goes to a file. */
  tail: string[];
}

export function spawnNode(spec: SpawnSpec): Spawned {
  const tail: string[] = [];
  let child: ChildProcess;
  if (spec.output.kind === 'file') {
    const fd = openSync(spec.output.path, 'a');
    try {
      child = spawn(spec.executable, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
  } else {
    const sink = spec.output.sink;
    child = spawn(spec.executable, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = createInterface({ input: child[stream] as NodeJS.ReadableStream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        tail.push(line);
        if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
        sink(spec.name, line, stream);
      });
    }
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A spawn failure (e.g. executable missing) emits 'error' and maybe no 'exit'.
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return { child, exited, tail };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else — alive, and not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` is still the node we started (its command line names its data dir), so a
 * recycled pid of some unrelated process is never signalled. Off Linux (no /proc) the
 * check cannot be made and the pid is trusted.
 */
export function pidIsNode(pid: number, nodeDataDir: string): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return process.platform !== 'linux' && isAlive(pid);
  }
  return cmdline.split('\0').includes(nodeDataDir);
}

function sendSignal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // already gone is fine
  }
}

/** Resolves true if the pid is gone within `timeoutMs`. */
async function waitGone(pid: number, exited: Promise<unknown> | undefined, timeoutMs: number): Promise<boolean> {
  if (exited !== undefined) {
    // The timer is cancelled once the process is gone, so a caller that stopped a node does
    // not keep the event loop alive for the rest of the timeout.
    const cancel = new AbortController();
    const timer = sleep(timeoutMs, false, { signal: cancel.signal }).catch(() => false);
    try {
      return await Promise.race([exited.then(() => true), timer]);
    } finally {
      cancel.abort();
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(POLL_INTERVAL_MS);
  }
  return !isAlive(pid);
}

/**
 * SIGTERM, wait up to `timeoutMs`, then SIGKILL and wait for the exit. Pass `exited` when
 * the process is our child (a zombie still answers kill(pid, 0) until it is reaped).
 * Returns how it ended.
 */
export async function stopPid(pid: number, exited?: Promise<unknown>, timeoutMs = STOP_TIMEOUT_MS): Promise<'exited' | 'killed'> {
  sendSignal(pid, 'SIGTERM');
  if (await waitGone(pid, exited, timeoutMs)) return 'exited';
  sendSignal(pid, 'SIGKILL');
  await waitGone(pid, exited, timeoutMs);
  return 'killed';
}

function canConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Polls until `ready()` holds; rejects if the process exits first or time runs out, with
 * what it printed last so the cause is on screen.
 */
export async function waitUntil(
  what: string, spawned: Spawned, ready: () => Promise<boolean>, timeoutMs: number, hint: string,
): Promise<void> {
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void spawned.exited.then((e) => (exit = e));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit !== undefined) {
      const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
      throw new Error(`${what} ${how} before it was ready${explain(spawned, hint)}`);
    }
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs} ms${explain(spawned, hint)}`);
    await sleep(POLL_INTERVAL_MS);
  }
}

function explain(spawned: Spawned, hint: string): string {
  const tail = spawned.tail.length > 0 ? `; its last output:\n  ${spawned.tail.join('\n  ')}` : '';
  return `${tail}${hint === '' ? '' : `\n${hint}`}`;
}

export function portListening(port: number, host: string): () => Promise<boolean> {
  return () => canConnect(port, host);
}
