// Two V8 .cpuprofiles of the same process role under two loads (scripts/probe-lww-write.ts
// --prof), compared per op: self and inclusive µs per op of each function (name, file, line),
// the largest differences first. Whole-process profiles include the start (the same in both
// runs), so give the ops each run made (warm-up included); or, with --skip-frac F (leave out
// the first F of the samples: the start and warm-up) and --shares, give each process's
// measured CPU µs/op (/proc, e.g. the main thread's) and each function gets its share of the
// profiled non-idle time times that figure (the way the session-9 probe read them).
//
//   npx tsx scripts/cpuprofile-diff.ts A.cpuprofile OPS_A B.cpuprofile OPS_B [--top 40] [--match TEXT]
//   npx tsx scripts/cpuprofile-diff.ts A.cpuprofile US_A B.cpuprofile US_B --skip-frac 0.5 --shares
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

const key = (n: Node): string => `${n.callFrame.functionName || '(anon)'} ${basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

/** µs of self and inclusive time per function key, of the samples after the first `skipFrac`. */
function times(path: string, skipFrac: number): { self: Map<string, number>; incl: Map<string, number>; total: number } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (let i = Math.floor(p.samples.length * skipFrac); i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the delta to the next one
    const id = p.samples[i]!;
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    total += dt;
    self.set(key(n), (self.get(key(n)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  }
  return { self, incl, total };
}

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const [pa, oa, pb, ob] = argv;
if (pa === undefined || oa === undefined || pb === undefined || ob === undefined) {
  console.error('usage: cpuprofile-diff.ts A.cpuprofile OPS_A B.cpuprofile OPS_B [--top N] [--match TEXT]');
  process.exit(2);
}
const top = Number(flag('--top') ?? 40);
const match = flag('--match');
const skipFrac = Number(flag('--skip-frac') ?? 0);
const a = times(pa, skipFrac);
const b = times(pb, skipFrac);
// Divisors: ops, or (--shares) the non-idle time per measured µs/op.
const shares = argv.includes('--shares');
const na = shares ? a.total / Number(oa) : Number(oa);
const nb = shares ? b.total / Number(ob) : Number(ob);
console.log(`non-idle µs/op: A ${(a.total / na).toFixed(1)}, B ${(b.total / nb).toFixed(1)}, B-A ${(b.total / nb - a.total / na).toFixed(1)}`);
for (const kind of ['self', 'incl'] as const) {
  const keys = new Set([...a[kind].keys(), ...b[kind].keys()]);
  const rows = [...keys]
    .filter((k) => match === undefined || k.includes(match))
    .map((k) => ({ fn: k.slice(0, 90), A: (a[kind].get(k) ?? 0) / na, B: (b[kind].get(k) ?? 0) / nb }))
    .map((r) => ({ ...r, diff: r.B - r.A }))
    .sort((x, y) => Math.abs(y.diff) - Math.abs(x.diff))
    .slice(0, top)
    .map((r) => ({ fn: r.fn, 'A µs/op': r.A.toFixed(2), 'B µs/op': r.B.toFixed(2), 'B-A': r.diff.toFixed(2) }));
  console.log(`\n## ${kind} time, largest |B-A| first`);
  console.table(rows);
}
