// Turns a step's raw output into the lines that are compared. Only what is chance or
// environment is replaced, never behaviour:
//  - ids: member, cluster, lease and added-member ids (from the target's id table), the
//    random client ids in etcdctl's log lines;
//  - times: log timestamps, "took", a lease's remaining TTL, raft terms (an election's
//    count is timing);
//  - sizes and hashes: db sizes, snapshot sizes and message counts, raft log indexes
//    (entries each implementation writes for itself), HashKV and snapshot hashes;
//  - the server's version string (each implementation reports its own);
//  - ports/URLs and the scratch dir.
// JSON is pretty-printed one field per line (numbers kept as written, ids are 64-bit) and
// table padding collapsed (an id's width changes the columns), so the diff is per field.

import type { Run } from './execute.js';

/** Fields whose value is a time, size, hash or log index (snake_case from etcdctl, camelCase from gRPC). */
const NORMALIZED_FIELDS: Record<string, string> = {
  raft_term: '<term>', raftTerm: '<term>',
  raft_index: '<index>', raftIndex: '<index>', raft_applied_index: '<index>', raftAppliedIndex: '<index>',
  dbSize: '<size>', db_size: '<size>', dbSizeInUse: '<size>', db_size_in_use: '<size>', totalSize: '<size>',
  hash: '<hash>', revisionHash: '<hash>',
  ts: '<time>', took: '<time>', size: '<size>',
  // etcdctl -w fields
  RaftTerm: '<term>', RaftIndex: '<index>', RaftAppliedIndex: '<index>', DBSize: '<size>', DBSizeInUse: '<size>', Hash: '<hash>',
};
/** Table columns with the same meaning (etcdctl -w table). */
const NORMALIZED_COLUMNS: Record<string, string> = {
  'DB SIZE': '<size>', 'RAFT TERM': '<term>', 'RAFT INDEX': '<index>', 'RAFT APPLIED INDEX': '<index>',
  HASH: '<hash>', 'TOTAL SIZE': '<size>', VERSION: '<version>',
};

const UUID_RE = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
const DURATION_RE = /took = [0-9.]+(ns|µs|us|ms|s|m)\b/g;
const REMAINING_RE = /remaining\(\d+s\)/g;
const HOSTPORT_RE = /\b(127\.0\.0\.1|localhost|\[::1\]):(\d+)\b/g;
const ID_TOKEN_RE = /\b[0-9a-f]{6,20}\b/g;
/** A lease's remaining TTL next to its granted TTL (TimeToLive), as gRPC and etcdctl -w json spell them. */
const REMAINING_TTL_RE = /^((?:out\| )?\s*"(TTL|ttl)":\s*)"?\d+"?(,?)$/;
/** etcdctl member add prints the new cluster as NAME=URL pairs in member id order. */
const INITIAL_CLUSTER_RE = /^(out\| ETCD_INITIAL_CLUSTER=")([^"]*)(")$/;
/** etcdctl lease timetolive --keys: the keys come from a Go map, in no order. */
const ATTACHED_KEYS_RE = /attached keys\(\[([^\]]*)\]\)/;

/** Pretty-prints JSON text token by token, so 64-bit numbers stay exactly as written. */
export function prettyJson(text: string): string[] | undefined {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|[{}[\]:,]|\S/g);
  if (tokens === null) return undefined;
  const lines: string[] = [];
  let cur = '';
  let depth = 0;
  const pad = (): string => '  '.repeat(depth);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '{' || t === '[') {
      const close = t === '{' ? '}' : ']';
      if (tokens[i + 1] === close) {
        cur += t + close;
        i++;
        continue;
      }
      lines.push(cur + t);
      depth++;
      cur = pad();
    } else if (t === '}' || t === ']') {
      if (cur.trim() !== '') lines.push(cur);
      depth--;
      cur = pad() + t;
    } else if (t === ',') {
      lines.push(cur + ',');
      cur = pad();
    } else if (t === ':') {
      cur += ': ';
    } else if (/^["\-\d tfn]/.test(t)) {
      cur += t;
    } else {
      return undefined; // not JSON
    }
  }
  if (cur.trim() !== '') lines.push(cur);
  return depth === 0 ? lines : undefined;
}

function looksLikeJson(s: string): boolean {
  const t = s.trim();
  return (t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'));
}

/** Expands JSON on "out| " / "err| " lines into one line per field, keeping the prefix. */
function expandJson(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const m = /^(out\| |err\| )(.*)$/.exec(line);
    const pretty = m !== null && looksLikeJson(m[2]!) ? prettyJson(m[2]!) : undefined;
    if (m !== null && pretty !== undefined) for (const p of pretty) out.push(m[1]! + p);
    else out.push(line);
  }
  return out;
}

/**
 * The server's version string (Status `version`, etcdctl's VERSION column): each
 * implementation reports its own (etcd 3.4.23 here, regionstore the 3.5 API level it follows),
 * like an id. A kv's `version` (a number) is behaviour and is kept.
 */
const SERVER_VERSION_RE = /^"3\.\d+\.\d+"$/;

function normalizeFields(line: string): string {
  return line.replace(/"(\w+)"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9.]+(?:e[+-]?\d+)?)/g, (all, key: string, value: string) => {
    if ((key === 'version' || key === 'Version') && SERVER_VERSION_RE.test(value)) return all.slice(0, all.indexOf(':') + 1) + ' "<version>"';
    const to = NORMALIZED_FIELDS[key];
    return to === undefined ? all : all.slice(0, all.indexOf(':') + 1) + ` "${to}"`;
  });
}

/** Collapses table padding and replaces the cells of time/size/hash columns. */
function normalizeTables(lines: string[]): string[] {
  let columns: string[] = [];
  return lines.map((line) => {
    const m = /^(out\| )([+|].*)$/.exec(line);
    if (m === null) return line;
    const row = m[2]!;
    if (row.startsWith('+')) return `${m[1]!}${row.replace(/-+/g, '-')}`;
    const cells = row.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length > 0 && cells.every((c) => c === c.toUpperCase() && /[A-Z]/.test(c))) {
      columns = cells;
    } else {
      cells.forEach((c, i) => {
        const to = NORMALIZED_COLUMNS[columns[i] ?? ''];
        if (to !== undefined && to !== columns[i] && c !== '') cells[i] = to;
      });
    }
    return `${m[1]!}| ${cells.join(' | ')} |`;
  });
}

export function normalizeText(text: string, run: Pick<Run, 'ids' | 'ports' | 'workDir'>): string[] {
  let t = text.split(run.workDir).join('<dir>');
  t = t.replace(UUID_RE, '<uuid>').replace(DURATION_RE, 'took = <time>').replace(REMAINING_RE, 'remaining(<time>)');
  // etcdctl prints member ids as %16x: a shorter id is padded with spaces (a width is not behaviour).
  t = t.replace(/ +([0-9a-f]{1,15})\b/g, (all, tok: string) => (all.length === 17 && run.ids.has(tok) ? ` ${tok}` : all));
  t = t.replace(HOSTPORT_RE, (all, _host: string, port: string) => run.ports.get(Number(port)) ?? `<port:other>`);
  let lines = normalizeTables(expandJson(t.split('\n')));
  const timeToLive = /granted-?TTL/i.test(t);
  lines = lines.map((l) => {
    let n = normalizeFields(l);
    if (timeToLive) n = n.replace(REMAINING_TTL_RE, '$1"<time>"$3');
    n = n.replace(ID_TOKEN_RE, (tok) => run.ids.get(tok) ?? tok);
    n = n.replace(INITIAL_CLUSTER_RE, (_, a: string, list: string, b: string) => a + list.split(',').sort().join(',') + b);
    return n.replace(ATTACHED_KEYS_RE, (_, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`);
  });
  return sortJsonArrays(sortMemberRows(lines));
}

/**
 * Rows about members or endpoints come in id order (member list, --cluster commands) or
 * completion order (endpoint health), which is chance once ids are placeholders: runs of
 * them are sorted.
 */
const PER_MEMBER_ROW_RE = /^(out|err)\| ((\| )?(http:\/\/)?<(member|client|newpeer|id):[^>]*>(,| \|| is healthy)|(Finished defragmenting|Failed to defragment) etcd member\[)/;

function sortMemberRows(lines: string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = (): void => {
    out.push(...run.sort());
    run = [];
  };
  for (const l of lines) {
    if (PER_MEMBER_ROW_RE.test(l)) run.push(l);
    else {
      flush();
      out.push(l);
    }
  }
  flush();
  return out;
}

/**
 * Arrays whose order is chance in etcd itself, sorted element by element: the keys of a
 * lease (a Go map), endpoint health answers (completion order).
 */
const UNORDERED_ARRAY_RE = /^(out\| )?(\s*)("keys": \[|\[)$/;

/** An array element's lines without the comma that separates it from the next. */
function withoutComma(e: string[]): string[] {
  return e.map((l, k) => (k === e.length - 1 ? l.replace(/,$/, '') : l));
}

function sortJsonArrays(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = UNORDERED_ARRAY_RE.exec(lines[i]!);
    out.push(lines[i]!);
    if (m === null) continue;
    const prefix = m[1] ?? '';
    const close = `${prefix}${m[2]!}]`;
    const end = lines.findIndex((l, k) => k > i && (l === close || l === `${close},`));
    if (end < 0) continue;
    const body = lines.slice(i + 1, end);
    const inner = `${prefix}${m[2]!}  `;
    // Elements start at the array's inner indent; each runs until the next one.
    const elements: string[][] = [];
    for (const l of body) {
      if (l.startsWith(inner) && !l.startsWith(`${inner} `) && !/^\s*[}\]]/.test(l.slice(inner.length))) elements.push([l]);
      else elements.at(-1)?.push(l);
    }
    const isHealth = m[3] === '[' && body.some((l) => l.includes('"health"'));
    if (m[3] !== '[' || isHealth) {
      const sorted = elements.map(withoutComma).sort((a, b) => (a.join('\n') < b.join('\n') ? -1 : 1));
      sorted.forEach((e, k) => out.push(...e.map((l, j) => (j === e.length - 1 && k < sorted.length - 1 ? `${l},` : l))));
    } else {
      out.push(...body);
    }
    i = end - 1;
  }
  return out;
}

/** Every compared line of a run: "[step] line". */
export function normalizeRun(run: Run): Array<{ step: string; lines: string[] }> {
  return run.outputs.map((o) => ({ step: o.step, lines: normalizeText(o.text, run) }));
}
