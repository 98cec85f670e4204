// Runs rsctl for tests: in-process through runCli (fast: no tsx start per command) or as
// a real process (exit codes, signals).

import { spawn } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../cli.js';

export interface RsctlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collector(onChunk?: (text: string) => void): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(b);
      onChunk?.(b.toString());
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** rsctl in this process; `onStderr` sees stderr as it is written (e.g. "watching ..."). */
export async function rsctl(
  args: readonly string[], opts: { stdin?: string; signal?: AbortSignal; onStderr?: (text: string) => void } = {},
): Promise<RsctlResult> {
  const out = collector();
  const err = collector(opts.onStderr);
  const code = await runCli(args, {
    stdout: out.stream,
    stderr: err.stream,
    stdin: Readable.from([Buffer.from(opts.stdin ?? '')]),
    env: {},
    signal: opts.signal ?? new AbortController().signal,
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * rsctl as its own process (node --import tsx client/rsctl/main.ts ...). `killWhen`: SIGTERM
 * once stderr matches it (a readiness line), so a slow start on a loaded machine is waited
 * for instead of cut off by a fixed timer.
 */
export function rsctlProcess(
  args: readonly string[],
  opts: { stdin?: string; timeoutMs?: number; killWhen?: RegExp } = {},
): Promise<RsctlResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.killWhen?.test(stderr) === true) p.kill('SIGTERM');
    });
    const hard = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    p.on('close', (code) => {
      clearTimeout(hard);
      resolve({ code, stdout, stderr });
    });
    // rsctl may exit before it reads stdin (a usage error): its answer, not the test's error.
    p.stdin.on('error', () => undefined);
    p.stdin.end(opts.stdin ?? '');
  });
}
