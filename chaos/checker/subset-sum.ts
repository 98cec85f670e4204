// Whether a counter's final value is reachable: the sum of the acknowledged adds plus the
// deltas of SOME of the indeterminate ones, each at most once. A bitset over every sum
// the items can make (pseudo-polynomial: the workload's deltas are small, so the range
// is a few thousand), bounded by SUBSET_SUM_RANGE_MAX.

/** Largest range of sums searched; past it the answer is "undecided". */
export const SUBSET_SUM_RANGE_MAX = 10_000_000;

/**
 * Whether `target` is the sum of a sub-multiset of `items` (non-negative integers, each
 * used at most once). undefined when the items' total exceeds `rangeMax`.
 */
export function subsetSumReachable(items: readonly number[], target: number, rangeMax = SUBSET_SUM_RANGE_MAX): boolean | undefined {
  for (const x of items) if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`subset sum: items must be non-negative integers, got ${x}`);
  const total = items.reduce((a, b) => a + b, 0);
  if (!Number.isSafeInteger(target) || target < 0 || target > total) return false;
  if (total > rangeMax) return undefined;
  const reach = new Uint8Array(total + 1);
  reach[0] = 1;
  let high = 0;
  for (const x of items) {
    if (x === 0) continue;
    // Downwards, so each item is used at most once.
    for (let s = high; s >= 0; s--) if (reach[s] === 1) reach[s + x] = 1;
    high += x;
    if (reach[target] === 1) return true;
  }
  return reach[target] === 1;
}

/**
 * Whether `value` = `base` + the sum of a subset of `deltas` (any signs). Taking every
 * negative delta and "un-taking" some turns it into a subset sum of the magnitudes:
 * value - base - Σneg = Σ(chosen positives) + Σ(|unchosen negatives|).
 */
export function reachableWithDeltas(base: number, deltas: readonly number[], value: number, rangeMax = SUBSET_SUM_RANGE_MAX): boolean | undefined {
  const negatives = deltas.filter((d) => d < 0).reduce((a, b) => a + b, 0);
  return subsetSumReachable(deltas.map((d) => Math.abs(d)), value - base - negatives, rangeMax);
}
