// Summarizes a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench:compare --
// --cpu-prof DIR`): the functions with the most self time, the most inclusive time, and
// the time per package or source folder.
//
//   npx tsx client/bench/cpuprofile.ts DIR/CPU.....cpuprofile [--top 25]

import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileLine {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  self: ProfileLine[];
  inclusive: ProfileLine[];
  byOrigin: ProfileLine[];
}

const TOP_DEFAULT = 25;

/** A short, stable place name: repository-relative path, or the package under node_modules. */
function origin(url: string): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm !== null) return nm[1] as string;
  const repo = /\/(server|client|proto|cluster)\/(.*?)(?:\/[^/]*)?$/.exec(url);
  return repo === null ? url : `${repo[1]}/${repo[2]}`.replace(/\/$/, '');
}

function frameName(f: CallFrame): string {
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*?\/(server|client|proto|cluster)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file === '' ? '' : `${file}:${f.lineNumber + 1}`}`.trim();
}

function top(map: Map<string, number>, totalMs: number, n: number): ProfileLine[] {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: Math.round((us / 1000 / totalMs) * 1000) / 10 }));
}

export function summarizeProfile(p: CpuProfile, n = TOP_DEFAULT): ProfileSummary {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    if (node.callFrame.functionName === '(idle)') continue; // waiting is not CPU
    totalUs += us;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + us);
    const o = node.callFrame.url === '' ? node.callFrame.functionName : origin(node.callFrame.url);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined || frame.functionName === '(root)') continue;
      const key = frameName(frame);
      if (seen.has(key)) continue; // recursion counts once per sample
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const totalMs = totalUs / 1000;
  return { totalMs, self: top(self, totalMs, n), inclusive: top(inclusive, totalMs, n), byOrigin: top(byOrigin, totalMs, n) };
}

function print(title: string, lines: ProfileLine[]): void {
  console.log(`\n${title}`);
  for (const l of lines) console.log(`  ${l.percent.toFixed(1).padStart(5)}%  ${l.ms.toFixed(0).padStart(7)} ms  ${l.name}`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: npx tsx client/bench/cpuprofile.ts <file.cpuprofile> [--top N]');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  const n = i > 0 ? Number(process.argv[i + 1]) : TOP_DEFAULT;
  const s = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, n);
  console.log(`CPU time (idle excluded): ${s.totalMs.toFixed(0)} ms`);
  print('Self time by function:', s.self);
  print('Inclusive time by function:', s.inclusive);
  print('Self time by package / folder:', s.byOrigin);
}
