// Network shapes as sets of directed links to blackhole. Pure: the mesh applies them.
// A link "a->b" is the connections node a opens to node b (see mesh.ts).

export type Link = readonly [from: number, to: number];

export function linkName(from: number, to: number): string {
  return `${from}->${to}`;
}

function assertNodes(nodes: readonly number[], listed: readonly number[], what: string): void {
  const seen = new Set<number>();
  for (const n of listed) {
    if (!nodes.includes(n)) throw new RangeError(`${what}: ${n} is not a node (nodes: ${nodes.join(', ')})`);
    if (seen.has(n)) throw new RangeError(`${what}: node ${n} is listed twice`);
    seen.add(n);
  }
}

/** Every link between nodes of different groups, both ways. Every node must be in one group. */
export function partitionLinks(nodes: readonly number[], groups: ReadonlyArray<readonly number[]>): Link[] {
  const listed = groups.flat();
  assertNodes(nodes, listed, 'partition');
  const missing = nodes.filter((n) => !listed.includes(n));
  if (missing.length > 0) throw new RangeError(`partition: nodes ${missing.join(', ')} are in no group`);
  const groupOf = new Map<number, number>();
  groups.forEach((g, i) => g.forEach((n) => groupOf.set(n, i)));
  const out: Link[] = [];
  for (const a of nodes) for (const b of nodes) if (a !== b && groupOf.get(a) !== groupOf.get(b)) out.push([a, b]);
  return out;
}

/** The node alone on one side, everyone else on the other. */
export function isolateLinks(nodes: readonly number[], node: number): Link[] {
  return partitionLinks(nodes, [[node], nodes.filter((n) => n !== node)]);
}

/**
 * Jepsen's bridge: two halves that cannot talk to each other, and one node that talks to
 * both. Every node must be in exactly one of left, middle, right.
 */
export function bridgeLinks(nodes: readonly number[], left: readonly number[], middle: number, right: readonly number[]): Link[] {
  assertNodes(nodes, [...left, middle, ...right], 'bridge');
  const listed = new Set([...left, middle, ...right]);
  const missing = nodes.filter((n) => !listed.has(n));
  if (missing.length > 0) throw new RangeError(`bridge: nodes ${missing.join(', ')} are on no side`);
  const out: Link[] = [];
  for (const a of left) for (const b of right) out.push([a, b], [b, a]);
  return out;
}

/** A bridge over nodes in the given order: the first half, one middle node, the rest. */
export function bridgeSplit(ordered: readonly number[]): { left: number[]; middle: number; right: number[] } {
  if (ordered.length < 3) throw new RangeError(`bridge: needs at least 3 nodes, got ${ordered.length}`);
  const half = Math.floor((ordered.length - 1) / 2);
  return { left: ordered.slice(0, half), middle: ordered[half]!, right: ordered.slice(half + 1) };
}
