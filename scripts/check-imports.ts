// The import rules of DESIGN.md §7, checked over every TypeScript file:
//  - a folder imports only the folders its rule lists (imports inside a folder are free);
//  - no import cycle between files anywhere;
//  - the pure cores (server/raft, server/crdt, server/namespace) use no I/O, clock, timer, randomness or Promise.
// Exits 1 with one line per violation.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(new URL('..', import.meta.url).pathname);

/** Folder → folders it may import. The longest matching folder prefix is a file's rule. */
export const IMPORT_RULES: Record<string, string[]> = {
  'server/util': [],
  'server/raft': ['server/util'],
  'server/crdt': ['server/util'],
  'server/namespace': ['server/util'],
  'server/auth': ['server/util'],
  'server/metrics': ['server/util'],
  // Flag and environment parsing of `regionstore serve`.
  'server/config': ['server/util'],
  // proto/ holds the .proto files and their codecs; the raft and crdt codecs map the cores' types.
  proto: ['server/util', 'server/raft', 'server/crdt'],
  'server/storage': ['server/util', 'server/raft', 'proto'],
  'server/mvcc': ['server/util', 'server/storage'],
  'server/transport': ['server/util', 'server/raft', 'proto'],
  'server/sync': ['server/util', 'server/crdt', 'proto'],
  // The persistent CRDT store of eventual namespaces (region members and edges alike): its
  // writes are mvcc external commands, so its change feed is the mvcc store's.
  'server/eventual': ['server/util', 'server/crdt', 'server/storage', 'server/mvcc', 'server/namespace'],
  'server/region': [
    'server/util', 'server/raft', 'server/storage', 'server/transport', 'server/mvcc',
    'server/sync', 'server/crdt', 'server/namespace', 'server/metrics', 'server/eventual', 'server/auth', 'proto',
  ],
  'server/edge': [
    'server/util', 'server/crdt', 'server/sync', 'server/storage', 'server/transport',
    'server/namespace', 'server/metrics', 'server/mvcc', 'server/eventual', 'proto',
  ],
  'server/api': [
    'server/util', 'server/region', 'server/mvcc', 'server/namespace', 'server/metrics',
    'server/raft', 'server/eventual', 'server/auth', 'proto',
  ],
  'server/main.ts': ['server', 'proto'],
  client: ['proto', 'server/util'],
  cluster: ['client', 'server/util'],
  // The Raft simulator over raft + storage, the sync simulator (chaos/sim/sync) over crdt.
  'chaos/sim': ['server/util', 'server/raft', 'server/storage', 'server/crdt'],
  chaos: ['client', 'cluster', 'server/util', 'proto'],
  // Tests and tooling may reach anything.
  test: [''],
  scripts: [''],
};

const PURE_FOLDERS = ['server/raft', 'server/crdt', 'server/namespace', 'server/auth'];
const IMPURE_PATTERNS: Array<[RegExp, string]> = [
  [/from\s+['"]node:/, 'imports a node: module'],
  [/\bDate\.now\b|\bnew Date\(/, 'reads the clock'],
  [/\bMath\.random\b/, 'uses Math.random'],
  [/\bset(Timeout|Interval|Immediate)\b/, 'starts a timer'],
  [/\bPromise\b|\basync\b|\bawait\b/, 'uses a Promise'],
  [/\bprocess\./, 'touches the process'],
];

function listSources(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'data' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listSources(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(ROOT, path));
  }
}

function ruleFor(file: string): string | undefined {
  let best: string | undefined;
  for (const folder of Object.keys(IMPORT_RULES)) {
    if ((file === folder || file.startsWith(folder + '/')) && (best === undefined || folder.length > best.length)) {
      best = folder;
    }
  }
  return best;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC_IMPORT_RE = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function relativeImports(file: string, text: string): string[] {
  const found: string[] = [];
  for (const re of [IMPORT_RE, DYNAMIC_IMPORT_RE]) {
    for (const m of text.matchAll(re)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) continue;
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
      found.push(target);
    }
  }
  return found;
}

const files: string[] = [];
for (const dir of ['server', 'client', 'cluster', 'chaos', 'proto', 'scripts', 'test']) {
  try {
    listSources(join(ROOT, dir), files);
  } catch {
    /* folder not there yet */
  }
}

const problems: string[] = [];
const graph = new Map<string, string[]>();
for (const file of files) {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const imports = relativeImports(file, text);
  graph.set(file, imports);
  const isTest = file.endsWith('.test.ts') || file.includes('/testing/');
  const rule = ruleFor(file);
  if (rule === undefined) {
    problems.push(`${file}: no import rule covers this folder; add one to scripts/check-imports.ts`);
    continue;
  }
  const allowed = IMPORT_RULES[rule]!;
  for (const target of imports) {
    if (isTest) continue; // a test may reach the real parts it exercises
    const targetRule = ruleFor(target);
    if (targetRule === rule) continue;
    const ok = allowed.some((a) => a === '' || target === a || target.startsWith(a + '/'));
    if (!ok) problems.push(`${file}: imports ${target}, but ${rule} may import only [${allowed.join(', ')}]`);
  }
  if (!isTest && PURE_FOLDERS.some((f) => file.startsWith(f + '/'))) {
    const code = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const [re, what] of IMPURE_PATTERNS) {
      if (re.test(code)) problems.push(`${file}: ${what}; the pure core takes I/O, clock and randomness as inputs`);
    }
  }
}

// Cycle detection: depth-first search with colours, reporting each cycle once.
const state = new Map<string, 'visiting' | 'done'>();
const stack: string[] = [];
function visit(file: string): void {
  state.set(file, 'visiting');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    const s = state.get(next);
    if (s === 'visiting') {
      const cycle = stack.slice(stack.indexOf(next)).concat(next);
      problems.push(`import cycle: ${cycle.join(' -> ')}`);
    } else if (s === undefined) {
      visit(next);
    }
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`check-imports: ${problems.length} problem(s) in ${files.length} files`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} files, import directions and purity hold, no cycles`);
