// Parses steps.txt, the differential's script. One step per line:
//
//   NAME: ctl ARGS... [<<< "stdin as a JSON string"] [>> VAR /regex with one group/]
//   NAME: grpc[@nK] Service.Method {request as JSON} [>> VAR field.path]
//   NAME: stream[@nK] Service.Method {request}         (server stream: Snapshot)
//   NAME: keepalive[@nK] {LeaseKeepAliveRequest}       (one request, one answer)
//   NAME: watch[@nK] COUNT [WatchRequest | {"do":"Service.Method","req":{...}}, ...]
//   NAME: ctlwatch LINES ARGS...                        (etcdctl watch until LINES lines)
//   NAME: join MEMBER PEERVAR      (start the member added with peer URL ${PEERVAR}; waits until it caught up)
//
// In JSON requests, key/rangeEnd/value strings are bytes ("@x*N" is N bytes of "x"), and
// {"@times": N, "item": X} in a list stands for N copies of X.
//
// `ctl` gets --endpoints=${EP1} (n1, which leads) unless ARGS give --endpoints: a
// header names the member that answered, and with several endpoints that is chance. `${VAR}` is substituted:
// built-ins are EPS, EP1..3, HTTPEPS, HTTPEP1..3, M1..3 (member ids), PEER1..3, NEWPEER1..3
// (free peer URLs), DIR (a scratch dir); captured VARs are ids (leases, added members),
// `${VAR}` in hex as etcdctl prints them, `${VAR:dec}` in decimal as gRPC takes them.
// A `>> VAR` capture reads hex from etcdctl's output or decimal from a gRPC field.
// Comments start with #; blank lines are ignored.

import { readFileSync } from 'node:fs';

export type Step =
  | { name: string; kind: 'ctl'; args: string[]; stdin?: string; capture?: Capture }
  | { name: string; kind: 'grpc' | 'stream' | 'keepalive'; member: number; method: string; request: string; capture?: Capture }
  | { name: string; kind: 'watch'; member: number; count: number; requests: string }
  | { name: string; kind: 'ctlwatch'; lines: number; args: string[] }
  | { name: string; kind: 'join'; member: string; peerVar: string };

export interface Capture {
  variable: string;
  /** A regex with one group (ctl, hex) or a dotted field path (grpc, decimal). */
  from: string;
}

export const STEPS_FILE = new URL('./steps.txt', import.meta.url);

/** Splits a command line into words, honouring '...' and "..." quoting. */
export function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let has = false;
  for (const ch of line) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote} in: ${line}`);
  if (has || cur !== '') out.push(cur);
  return out;
}

function splitCapture(rest: string): { body: string; capture?: Capture } {
  const at = rest.lastIndexOf(' >> ');
  if (at < 0) return { body: rest };
  const m = /^(\w+)\s+(.+)$/.exec(rest.slice(at + 4).trim());
  if (m === null) throw new Error(`a capture is ">> VAR /regex/" or ">> VAR field.path", got: ${rest.slice(at)}`);
  const from = m[2]!.startsWith('/') && m[2]!.endsWith('/') ? m[2]!.slice(1, -1) : m[2]!;
  return { body: rest.slice(0, at), capture: { variable: m[1]!, from } };
}

function memberOf(kind: string): number {
  const m = /@n(\d)$/.exec(kind);
  return m === null ? 1 : Number(m[1]);
}

export function parseStep(line: string, lineNo: number): Step {
  const m = /^([a-z0-9][a-z0-9-]*):\s+(\S+)\s*(.*)$/.exec(line);
  if (m === null) throw new Error(`steps.txt:${lineNo}: expected "name: kind ...", got: ${line}`);
  const [, name, kind, rawRest] = m as unknown as [string, string, string, string];
  const { body, capture } = splitCapture(rawRest);
  const base = kind.replace(/@n\d$/, '');
  if (base === 'ctl') {
    const at = body.indexOf(' <<< ');
    const stdin = at < 0 ? undefined : (JSON.parse(body.slice(at + 5)) as string);
    const args = words(at < 0 ? body : body.slice(0, at));
    return { name, kind: 'ctl', args, ...(stdin === undefined ? {} : { stdin }), ...(capture === undefined ? {} : { capture }) };
  }
  if (base === 'grpc' || base === 'stream' || base === 'keepalive') {
    const mm = base === 'keepalive' ? ['', 'Lease.LeaseKeepAlive', body] : /^(\S+)\s+(.*)$/.exec(body);
    if (mm === null) throw new Error(`steps.txt:${lineNo}: ${base} needs Service.Method and a JSON request`);
    return { name, kind: base, member: memberOf(kind), method: mm[1]!, request: mm[2]!, ...(capture === undefined ? {} : { capture }) };
  }
  if (base === 'watch') {
    const mm = /^(\d+)\s+(.*)$/.exec(body);
    if (mm === null) throw new Error(`steps.txt:${lineNo}: watch needs a response count and a JSON array`);
    return { name, kind: 'watch', member: memberOf(kind), count: Number(mm[1]), requests: mm[2]! };
  }
  if (base === 'ctlwatch') {
    const mm = /^(\d+)\s+(.*)$/.exec(body);
    if (mm === null) throw new Error(`steps.txt:${lineNo}: ctlwatch needs a line count and etcdctl arguments`);
    return { name, kind: 'ctlwatch', lines: Number(mm[1]), args: words(mm[2]!) };
  }
  if (base === 'join') {
    const mm = /^([A-Za-z0-9-]+)\s+([A-Z0-9]+)$/.exec(body);
    if (mm === null) throw new Error(`steps.txt:${lineNo}: join needs a member name and the variable of its peer URL`);
    return { name, kind: 'join', member: mm[1]!, peerVar: mm[2]! };
  }
  throw new Error(`steps.txt:${lineNo}: unknown step kind ${kind}`);
}

export function loadSteps(text = readFileSync(STEPS_FILE, 'utf8')): Step[] {
  const steps: Step[] = [];
  const names = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const step = parseStep(line, i + 1);
    if (names.has(step.name)) throw new Error(`steps.txt:${i + 1}: step name ${step.name} is used twice`);
    names.add(step.name);
    steps.push(step);
  });
  return steps;
}
