// Which chaos runs the default suite leaves to `npm run test:teeth` (RS_CHAOS_TEETH_ALL=1, run
// by .ci/run after npm test), to keep `npm test` inside its 10-minute budget.

/** The variable `npm run test:teeth` sets. */
export const TEETH_ALL_VAR = 'RS_CHAOS_TEETH_ALL';

/** node:test options for a run only `npm run test:teeth` makes: skipped (saying where it runs) otherwise. */
export function onlyInTeethRun(what: string): { skip?: string } {
  return process.env[TEETH_ALL_VAR] === '1' ? {} : { skip: `${what}: npm run test:teeth (${TEETH_ALL_VAR}=1)` };
}
