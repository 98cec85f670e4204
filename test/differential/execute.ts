// Runs the steps against one target and records what a user would see: etcdctl's exit
// code, stdout and stderr; a gRPC call's response or status code and message. Captured
// ids go into the target's id table for normalize.ts.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { pickFreePorts } from '../../cluster/ports.js';
import { rawClient, type RawClient } from '../../server/api/testing/raw-client.js';
import type { Step } from './steps.js';
import { HOST, type Target } from './targets.js';

/** One etcdctl run; etcdctl's own dial timeout is 2 s and a request's 5 s. */
export const CTL_TIMEOUT_MS = 15_000;
/** How long a watch step waits for the next response before it records what it has (a progress notification comes within 5 s). */
export const WATCH_WAIT_MS = 8_000;
/** Values longer than this are shown by length and digest, not byte by byte. */
export const VALUE_SHOWN_BYTES_MAX = 96;
/** Peer URLs the steps may add as new members. */
export const NEW_PEERS = 3;
/** `"@x*N"` in a request stands for N bytes of "x" (large values without a large script). */
const REPEAT_RE = /^@(.)\*(\d+)$/;
/** Request fields that are bytes (`name`: a Lock or Election name). */
const BYTES_FIELDS = new Set(['key', 'rangeEnd', 'value', 'name']);

export interface StepOutput {
  step: string;
  text: string;
  /** Not compared: for finding slow steps. */
  ms: number;
}

export interface Run {
  outputs: StepOutput[];
  /** id as printed (decimal, hex) → placeholder. */
  ids: Map<string, string>;
  /** port → placeholder. */
  ports: Map<number, string>;
  workDir: string;
}

function hex(id: bigint): string {
  return id.toString(16);
}

function registerId(ids: Map<string, string>, id: bigint, placeholder: string): void {
  if (id === 0n) return;
  ids.set(id.toString(), placeholder);
  ids.set(hex(id), placeholder);
  ids.set(hex(id).padStart(16, '0'), placeholder);
}

function toRequest(value: unknown, name = ''): unknown {
  if (typeof value === 'string' && BYTES_FIELDS.has(name)) {
    const m = REPEAT_RE.exec(value);
    return m === null ? Buffer.from(value) : Buffer.alloc(Number(m[2]), m[1]);
  }
  if (Array.isArray(value)) {
    // {"@times": N, "item": X} in a list stands for N copies of X (txn op limits).
    return value.flatMap((v) => {
      const rep = v as { '@times'?: number; item?: unknown };
      return rep['@times'] === undefined ? [toRequest(v, name)] : Array.from({ length: rep['@times'] }, () => toRequest(rep.item, name));
    });
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toRequest(v, k)]));
  }
  return value;
}

function showBytes(b: Buffer): string {
  if (b.length > VALUE_SHOWN_BYTES_MAX) return `<${b.length} bytes, sha256 ${createHash('sha256').update(b).digest('hex').slice(0, 12)}>`;
  const s = b.toString('utf8');
  return /^[\x20-\x7e]*$/.test(s) ? s : `base64:${b.toString('base64')}`;
}

function toShown(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return showBytes(value);
  if (Array.isArray(value)) return value.map(toShown);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toShown(v)]));
  }
  return value;
}

function render(value: unknown): string {
  return JSON.stringify(toShown(value), null, 2);
}

/**
 * Members come in id order, which is chance (ids are random): shown by name, then peer
 * URL (a member added but not started has no name yet).
 */
function memberKey(m: { name: string; peerURLs: string[] }): string {
  return `${m.name}\u0000${m.peerURLs.join(',')}`;
}

function sortMembers(res: unknown): unknown {
  const members = (res as { members?: Array<{ name: string; peerURLs: string[] }> } | null)?.members;
  if (!Array.isArray(members)) return res;
  return { ...(res as object), members: [...members].sort((a, b) => (memberKey(a) < memberKey(b) ? -1 : memberKey(a) > memberKey(b) ? 1 : 0)) };
}

function renderError(err: ServiceError): string {
  return `error: ${status[err.code] ?? err.code}: ${err.details}`;
}

function field(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
}

interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCtl(args: string[], stdin: string | undefined, untilLines?: number): Promise<CtlResult> {
  return new Promise((resolve) => {
    const p = spawn('etcdctl', args, { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), untilLines === undefined ? CTL_TIMEOUT_MS : WATCH_WAIT_MS);
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (untilLines !== undefined && stdout.split('\n').length - 1 >= untilLines) p.kill('SIGTERM');
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => {
      clearTimeout(timer);
      if (untilLines === undefined) return resolve({ code, stdout, stderr });
      // A watch is stopped by us: its exit code says nothing, and what it printed after
      // the lines the step waits for depends on when the stop came.
      const lines = stdout.split('\n');
      resolve({ code: 0, stdout: lines.length > untilLines ? `${lines.slice(0, untilLines).join('\n')}\n` : stdout, stderr });
    });
    // etcdctl may exit before it reads stdin (a bad flag): that is its answer, not ours.
    p.stdin.on('error', () => {});
    p.stdin.end(stdin ?? '');
  });
}

function ctlText(r: CtlResult): string {
  const lines = [`exit ${r.code ?? 'killed'}`];
  for (const l of r.stdout.replace(/\n$/, '').split('\n')) if (r.stdout !== '') lines.push(`out| ${l}`);
  for (const l of r.stderr.replace(/\n$/, '').split('\n')) if (r.stderr !== '') lines.push(`err| ${l}`);
  return lines.join('\n');
}

class Waiter<T> {
  readonly items: T[] = [];
  private wake: (() => void) | undefined;
  ended = false;
  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  /** Resolves once `n` items arrived, the stream ended, or WATCH_WAIT_MS passed. */
  async atLeast(n: number): Promise<void> {
    const deadline = Date.now() + WATCH_WAIT_MS;
    while (this.items.length < n && !this.ended && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now());
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = undefined;
    }
  }
}

/** A step needs an id that an earlier step should have captured but did not (it failed). */
class Uncaptured extends Error {
  constructor(readonly variable: string) {
    super(`not run: \${${variable}} was not captured (the step that makes it failed)`);
  }
}

function split(method: string): [string, string] {
  const [service, name] = method.split('.');
  if (service === undefined || name === undefined) throw new Error(`expected Service.Method, got ${method}`);
  return [service, name];
}

export async function runSteps(target: Target, steps: Step[]): Promise<Run> {
  const ids = new Map<string, string>();
  const ports = new Map<number, string>();
  const vars = new Map<string, string>();
  registerId(ids, BigInt(target.clusterId), '<cluster>');
  const httpEps: string[] = [];
  target.members.forEach((m, i) => {
    registerId(ids, BigInt(m.id), `<member:${m.name}>`);
    ports.set(m.clientPort, `<client:${m.name}>`);
    ports.set(m.peerPort, `<peer:${m.name}>`);
    vars.set(`EP${i + 1}`, `${HOST}:${m.clientPort}`);
    vars.set(`HTTPEP${i + 1}`, `http://${HOST}:${m.clientPort}`);
    vars.set(`M${i + 1}`, hex(BigInt(m.id)));
    vars.set(`M${i + 1}:dec`, m.id);
    vars.set(`PEER${i + 1}`, `http://${HOST}:${m.peerPort}`);
    httpEps.push(`http://${HOST}:${m.clientPort}`);
  });
  const free = await pickFreePorts(NEW_PEERS, HOST);
  free.forEach((p, i) => {
    ports.set(p, `<newpeer:${i + 1}>`);
    vars.set(`NEWPEER${i + 1}`, `http://${HOST}:${p}`);
  });
  vars.set('EPS', target.hostPorts.join(','));
  vars.set('HTTPEPS', httpEps.join(','));
  vars.set('DIR', target.workDir);

  const subst = (s: string): string => s.replace(/\$\{([A-Za-z0-9_:]+)\}/g, (_, v: string) => {
    const val = vars.get(v);
    if (val === undefined) throw new Uncaptured(v);
    return val;
  });
  const capture = (variable: string, id: bigint): void => {
    registerId(ids, id, `<id:${variable}>`);
    vars.set(variable, hex(id));
    vars.set(`${variable}:dec`, id.toString());
  };

  const clients = new Map<number, RawClient>();
  const client = (member: number): RawClient => {
    let c = clients.get(member);
    if (c === undefined) clients.set(member, (c = rawClient(vars.get(`EP${member}`)!)));
    return c;
  };

  const outputs: StepOutput[] = [];
  try {
    for (const step of steps) {
      const started = Date.now();
      let text: string;
      try {
        if (step.kind === 'ctl' || step.kind === 'ctlwatch') {
          const args = step.args.map(subst);
          if (!args.some((a) => a.startsWith('--endpoints'))) args.unshift(`--endpoints=${vars.get('EP1')!}`);
          const r = await runCtl(args, step.kind === 'ctl' ? step.stdin : undefined, step.kind === 'ctlwatch' ? step.lines : undefined);
          if (step.kind === 'ctl' && step.capture !== undefined && r.code === 0) {
            const m = new RegExp(step.capture.from).exec(r.stdout);
            if (m?.[1] !== undefined) capture(step.capture.variable, BigInt(`0x${m[1]}`));
          }
          text = ctlText(r);
        } else if (step.kind === 'grpc') {
          const [service, method] = split(step.method);
          try {
            const res: unknown = await client(step.member).unary(service, method, toRequest(JSON.parse(subst(step.request))));
            if (step.capture !== undefined) {
              const v = field(res, step.capture.from);
              if (v !== undefined) capture(step.capture.variable, BigInt(String(v)));
            }
            text = render(sortMembers(res));
          } catch (err) {
            text = renderError(err as ServiceError);
          }
        } else if (step.kind === 'stream') {
          const [service, method] = split(step.method);
          text = await runServerStream(client(step.member), service, method, toRequest(JSON.parse(subst(step.request))));
        } else if (step.kind === 'join') {
          const peerUrl = subst(`\${${step.peerVar}}`);
          const [port] = await pickFreePorts(1, HOST);
          ports.set(port!, `<client:${step.member}>`);
          text = await join(target, client(1), step.member, peerUrl, port!);
        } else if (step.kind === 'watch') {
          const reqs = JSON.parse(subst(step.requests)) as unknown[];
          text = await runWatch(client(step.member), reqs, step.count);
        } else {
          text = await runBidi(client(step.member), 'Lease', 'LeaseKeepAlive', [toRequest(JSON.parse(subst(step.request)))], 1);
        }
      } catch (err) {
        if (!(err instanceof Uncaptured)) throw err;
        text = err.message;
      }
      outputs.push({ step: step.name, text, ms: Date.now() - started });
    }
  } finally {
    for (const c of clients.values()) c.close();
  }
  return { outputs, ids, ports, workDir: target.workDir };
}

/** How long a joining member gets to start and catch up with the leader. */
export const JOIN_WAIT_MS = 30_000;
const JOIN_POLL_MS = 200;

/** Whether the leader lists the member of this peer URL with a name and client URLs. */
async function published(leader: RawClient, peerUrl: string): Promise<boolean> {
  const list = (await leader.unary('Cluster', 'MemberList', {})) as { members: Array<{ name: string; peerURLs: string[]; clientURLs: string[] }> };
  const m = list.members.find((x) => x.peerURLs.includes(peerUrl));
  return m !== undefined && m.name !== '' && m.clientURLs.length > 0;
}

/** Starts a member added earlier and waits until it has applied what the leader had. */
async function join(target: Target, leader: RawClient, member: string, peerUrl: string, clientPort: number): Promise<string> {
  const list = (await leader.unary('Cluster', 'MemberList', {})) as { members: Array<{ name: string; peerURLs: string[] }> };
  const initialCluster = list.members
    .map((m) => `${m.peerURLs.includes(peerUrl) ? member : m.name}=${m.peerURLs[0] ?? ''}`)
    .filter((pair) => !pair.startsWith('='))
    .join(',');
  const goal = Number(((await leader.unary('Maintenance', 'Status', {})) as { raftIndex: string }).raftIndex);
  await target.startMember({ name: member, peerUrl, clientPort, initialCluster });
  const c = rawClient(`${HOST}:${clientPort}`);
  const deadline = Date.now() + JOIN_WAIT_MS;
  let last: unknown = 'no answer';
  try {
    while (Date.now() < deadline) {
      try {
        const st = (await c.unary('Maintenance', 'Status', {})) as { raftAppliedIndex: string };
        // Caught up, and its name and client URLs published (an entry of its own after it
        // starts, on both systems): the next steps list members, so wait for what they show.
        if (Number(st.raftAppliedIndex) >= goal && (await published(leader, peerUrl))) return `member ${member} started and caught up`;
        last = `applied ${st.raftAppliedIndex} of ${goal}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, JOIN_POLL_MS));
    }
    return `member ${member} did not catch up within ${JOIN_WAIT_MS} ms: ${String(last)}`;
  } finally {
    c.close();
  }
}

/** Snapshot: the stream is shown by its outcome and header, its bytes only by their count. */
function runServerStream(c: RawClient, service: string, method: string, req: unknown): Promise<string> {
  return new Promise((resolve) => {
    const s = c.stream(service, method, req);
    let messages = 0;
    let bytes = 0;
    let first: unknown;
    let lastRemaining: unknown;
    s.on('data', (m: { blob?: Buffer; remainingBytes?: string; header?: unknown }) => {
      messages++;
      bytes += m.blob?.length ?? 0;
      first ??= m.header;
      lastRemaining = m.remainingBytes;
    });
    // How many messages and bytes is a size (chunking differs: etcd sends 32 KiB).
    s.on('error', (err: ServiceError) => resolve(`${renderError(err)}\nafter messages: ${messages > 0 ? 'some' : 'none'}`));
    s.on('end', () => resolve([`header: ${render(first)}`, `messages: ${messages > 1 ? 'several' : String(messages)}`, `bytes: ${bytes > 0 ? '<size>' : '0'}`,
      `last remainingBytes: ${String(lastRemaining)}`].join('\n')));
  });
}

async function runBidi(c: RawClient, service: string, method: string, reqs: unknown[], count: number): Promise<string> {
  const call = c.duplex(service, method);
  const got = new Waiter<string>();
  call.on('data', (m: unknown) => got.push(render(m)));
  call.on('error', (err: ServiceError) => {
    if (err.code !== status.CANCELLED) got.push(renderError(err));
    got.end();
  });
  call.on('end', () => got.end());
  for (const r of reqs) call.write(r);
  await got.atLeast(count);
  call.cancel();
  return got.items.join('\n') || 'no response';
}

async function runWatch(c: RawClient, reqs: unknown[], count: number): Promise<string> {
  const call = c.duplex('Watch', 'Watch');
  const got = new Waiter<string>();
  // Responses and the steps' own calls, in the order they happened.
  const log: string[] = [];
  call.on('data', (m: unknown) => {
    if (got.items.length < count) log.push(`response: ${render(m)}`);
    else log.push('(one more response than the step expects)');
    got.push('');
  });
  call.on('error', (err: ServiceError) => {
    if (err.code !== status.CANCELLED) log.push(renderError(err));
    got.end();
  });
  call.on('end', () => got.end());
  for (const r of reqs) {
    const action = r as { do?: string; req?: unknown };
    if (action.do !== undefined) {
      const [service, method] = action.do.split('.') as [string, string];
      try {
        // Only a failure is shown: whether the call's answer or its event comes first is timing.
        await c.unary(service, method, toRequest(action.req));
      } catch (err) {
        log.push(`(${action.do} ${renderError(err as ServiceError)})`);
      }
    } else {
      const before = got.items.length;
      call.write(toRequest(r));
      await got.atLeast(before + 1);
    }
  }
  await got.atLeast(count);
  call.cancel();
  return log.join('\n') || 'no response';
}
