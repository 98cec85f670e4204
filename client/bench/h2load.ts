// Runs h2load (nghttp2's C HTTP/2 load generator) against one gRPC method and reads what
// it measured: the summary lines for counts and bytes, and its per-request log file for
// the latency percentiles (h2load itself prints only min/max/mean).
//
// h2load counts HTTP 200s as successes, but gRPC sends its errors with HTTP 200 and the
// status in the trailers: callers must check the work done another way (revisions for
// writes, response bytes for reads; see compare.ts).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Histogram } from './histogram.js';

export interface H2loadRun {
  /** host:port (h2load sends it as :authority). */
  target: string;
  /** gRPC method path, e.g. /etcdserverpb.KV/Put. */
  path: string;
  /** The request body (one gRPC frame). */
  body: Buffer;
  /** TCP connections (h2load -c). */
  connections: number;
  /** Streams in flight per connection (h2load -m): in flight in all = connections × streams. */
  streams: number;
  /** Requests to send (h2load -n); ignored with durationS. */
  total: number;
  /** Run for this long instead (h2load -D). */
  durationS?: number;
  /** Give up on a run after this long. */
  timeoutMs?: number;
  /** Called when h2load exits, before its log is read here (a CPU meter stops there). */
  onExit?: () => void;
}

export interface H2loadResult {
  seconds: number;
  /** Requests h2load finished. */
  done: number;
  /** Answered with HTTP 200 (a gRPC error may hide in the trailers). */
  http2xx: number;
  failed: number;
  /** DATA bytes received: a gRPC error answer carries none. */
  dataBytes: number;
  /** Latency of every finished request (µs), from the log file. */
  histogram: Histogram;
  output: string;
}

const H2LOAD_TIMEOUT_MS_DEFAULT = 300_000;

function num(output: string, re: RegExp, what: string): number {
  const m = re.exec(output);
  if (m === null) throw new Error(`h2load output has no ${what}:\n${output}`);
  return Number(m[1]);
}

/** "2.27s" / "876.16ms" / "15us" → seconds. */
function seconds(text: string): number {
  const m = /^([\d.]+)(s|ms|us)$/.exec(text);
  if (m === null) throw new Error(`h2load duration ${text} not understood`);
  return Number(m[1]) / { s: 1, ms: 1e3, us: 1e6 }[m[2] as 's' | 'ms' | 'us'];
}

export function parseH2loadOutput(output: string): Omit<H2loadResult, 'histogram' | 'output'> {
  const finished = /finished in ([\d.]+(?:s|ms|us)),/.exec(output);
  if (finished === null) throw new Error(`h2load did not finish:\n${output}`);
  return {
    seconds: seconds(finished[1] as string),
    done: num(output, /(\d+) done/, 'done count'),
    http2xx: num(output, /status codes: (\d+) 2xx/, '2xx count'),
    failed: num(output, /(\d+) failed/, 'failed count') + num(output, /(\d+) errored/, 'errored count'),
    dataBytes: num(output, /\((\d+)\) data/, 'data bytes'),
  };
}

function latencies(logFile: string): Histogram {
  const h = new Histogram();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const cols = line.split('\t');
    if (cols.length >= 3 && cols[1] === '200') h.record(Number(cols[2]));
  }
  return h;
}

export function runH2load(run: H2loadRun): Promise<H2loadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rs-h2load-'));
  const bodyFile = join(dir, 'body.bin');
  const logFile = join(dir, 'requests.log');
  writeFileSync(bodyFile, run.body);
  const args = [
    ...(run.durationS === undefined ? ['-n', String(run.total)] : ['-D', String(run.durationS)]),
    '-c', String(run.connections), '-m', String(run.streams),
    '-d', bodyFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers',
    `--log-file=${logFile}`,
    `http://${run.target}${run.path}`,
  ];
  return new Promise<H2loadResult>((resolve, reject) => {
    const p = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), run.timeoutMs ?? H2LOAD_TIMEOUT_MS_DEFAULT);
    p.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run h2load (Debian package nghttp2-client): ${err.message}`));
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      run.onExit?.();
      try {
        if (code !== 0) throw new Error(`h2load exited with ${code}:\n${output}`);
        resolve({ ...parseH2loadOutput(output), histogram: latencies(logFile), output });
      } catch (err) {
        reject(err as Error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
