// Majority quorums: the committed index of a voter set and the outcome of a vote.

export const VoteResult = {
  Pending: 'pending',
  Won: 'won',
  Lost: 'lost',
} as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The largest index acknowledged by a majority of `voters`. An empty voter set commits
 * nothing (a node that does not know its membership yet).
 */
export function committedIndex(voters: ReadonlySet<number>, acked: (id: number) => number): number {
  if (voters.size === 0) return 0;
  // Runs on every acknowledgement: an insertion sort into one small array (descending)
  // instead of spread, map and sort, which allocated three arrays per call.
  const indexes: number[] = [];
  for (const id of voters) {
    const v = acked(id);
    let i = indexes.length;
    indexes.push(v);
    while (i > 0 && indexes[i - 1]! < v) {
      indexes[i] = indexes[i - 1]!;
      i--;
    }
    indexes[i] = v;
  }
  return indexes[majority(voters.size) - 1]!;
}

export function voteResult(voters: ReadonlySet<number>, votes: ReadonlyMap<number, boolean>): VoteResult {
  if (voters.size === 0) return VoteResult.Won; // as etcd: an empty config wins trivially; campaign refuses it earlier
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = majority(voters.size);
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}
