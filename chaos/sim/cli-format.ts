// Failure reports of the simulator, shared by the CLI and the tests: the seed, a one-line
// replay command and the last events before the violation.

import { formatEvent } from './events.js';
import type { SimResult } from './simulator.js';

export type ReplayOptions = { steps: number; unsafe?: string | undefined; profile?: string | undefined; storageFaults?: readonly string[] | undefined; serveLostState?: boolean | undefined };

export function replayCommand(r: SimResult, o: ReplayOptions): string {
  let cmd = `npm run sim -- --seeds 1 --start ${r.seed} --steps ${o.steps} --nodes ${r.nodes}`;
  if (o.unsafe !== undefined) cmd += ` --unsafe ${o.unsafe}`;
  if (o.profile !== undefined) cmd += ` --profile ${o.profile}`;
  if (o.storageFaults !== undefined) cmd += ` --storage-faults ${o.storageFaults.join(',')}`;
  if (o.serveLostState === true) cmd += ' --serve-lost-state';
  return cmd;
}

export function formatFailure(r: SimResult, o: ReplayOptions): string {
  const v = r.violation!;
  return [
    `FAIL seed=${r.seed} (${r.nodes} nodes, profile ${r.profile}): ${v.invariant} in the ${v.phase} phase at step ${v.step}`,
    `  ${v.detail}`,
    `  replay: ${replayCommand(r, o)} --verbose`,
    `  last ${r.events.length} events:`,
    ...r.events.map(formatEvent),
  ].join('\n');
}
