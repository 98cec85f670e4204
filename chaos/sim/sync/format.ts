// Failure reports of the sync simulator, shared by the CLI and the tests.

import type { SyncSimResult } from './simulator.js';

export function syncReplayCommand(r: SyncSimResult, o: { steps: number; unsafe?: string | undefined }): string {
  let cmd = `npm run sim:sync -- --seeds 1 --start ${r.seed} --steps ${o.steps}`;
  if (o.unsafe !== undefined) cmd += ` --unsafe ${o.unsafe}`;
  return cmd;
}

export function formatSyncFailure(r: SyncSimResult, o: { steps: number; unsafe?: string | undefined }): string {
  const v = r.violation!;
  return [
    `FAIL seed=${r.seed} (region + ${r.edges} edges, ${r.edgeLinks} edge links): ${v.invariant} in the ${v.phase} phase at step ${v.step}`,
    `  ${v.detail}`,
    `  replay: ${syncReplayCommand(r, o)} --verbose`,
    `  last ${r.events.length} events:`,
    ...r.events.map((e) => `    ${e}`),
  ].join('\n');
}
