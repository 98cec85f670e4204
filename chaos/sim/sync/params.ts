// How much of the sync simulator `npm test` runs (sim-sync.test.ts and teeth.test.ts).

/** Seeds per run (the issue asks for at least 200); every tooth must be caught within them. */
export const SYNC_TEST_SEEDS = 200;
export const SYNC_TEST_START = 1;
/** Safety-phase steps per seed; each test file stays well under a minute on 2 busy cores. */
export const SYNC_TEST_STEPS = 1500;
