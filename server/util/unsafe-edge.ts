// Test-only switches that each break one rule of edge sync (issue 15's "teeth"): the edge
// chaos run (`npm run chaos -- --edges N --unsafe edge-...`) must fail when one is on. They
// are read once, from RS_UNSAFE_EDGE (a comma list of the names below), and only when
// REGIONSTORE_UNSAFE=1 is set as well, so no production environment trips one by accident.
// Each is used by exactly one guarded line (two for accept-skew: the bound is checked at
// the session and again where the page applies) named `unsafe...` at the rule it breaks.

export const UNSAFE_EDGE_SWITCHES = [
  /** An edge sends the last page of every extraction with its ranges but without its records. */
  'drop-last-page',
  /** An edge acknowledges local writes without fsyncing them first. */
  'skip-fsync',
  /** The region collects tombstones once the region itself holds them, not once every edge does. */
  'early-gc',
  /** The region accepts pages stamped further ahead of its clock than max_clock_skew_ms. */
  'accept-skew',
] as const;
export type UnsafeEdgeSwitch = (typeof UNSAFE_EDGE_SWITCHES)[number];

export const UNSAFE_EDGE_ENV = 'RS_UNSAFE_EDGE';

function read(env: NodeJS.ProcessEnv): ReadonlySet<string> {
  if (env['REGIONSTORE_UNSAFE'] !== '1') return new Set();
  return new Set((env[UNSAFE_EDGE_ENV] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
}

const on = read(process.env);

/** Whether the test-only switch `name` is on in this process. */
export function unsafeEdge(name: UnsafeEdgeSwitch): boolean {
  return on.has(name);
}
