// npm run sim:sync -- --seeds N --start S --steps M [--unsafe <switch>] [--verbose]
// Runs seeds S..S+N-1 of the sync simulator, prints each failure with its seed, a replay
// command and the last events, then steps per second and, last, exactly `N passed, F failed`.

import { UNSAFE_CRDT_SWITCHES, type UnsafeCrdtSwitch } from '../../../server/crdt/index.js';
import { formatSyncFailure } from './format.js';
import { runSyncSimulation } from './simulator.js';

const USAGE = 'usage: npm run sim:sync -- --seeds N --start S --steps M [--unsafe <switch>] [--verbose]';

interface CliOptions {
  seeds: number;
  start: number;
  steps: number;
  unsafe?: UnsafeCrdtSwitch;
  verbose: boolean;
}

function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { seeds: 100, start: 1, steps: 1000, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const int = (): number => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${flag} takes a non-negative integer\n${USAGE}`);
      return v;
    };
    if (flag === '--seeds') o.seeds = int();
    else if (flag === '--start') o.start = int();
    else if (flag === '--steps') o.steps = int();
    else if (flag === '--verbose') o.verbose = true;
    else if (flag === '--unsafe') {
      const v = value();
      if (!(UNSAFE_CRDT_SWITCHES as readonly string[]).includes(v)) throw new Error(`--unsafe takes one of ${UNSAFE_CRDT_SWITCHES.join(', ')}`);
      o.unsafe = v as UnsafeCrdtSwitch;
    } else if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  return o;
}

function main(): void {
  let o: CliOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  let passed = 0;
  let failed = 0;
  let steps = 0;
  const started = performance.now();
  for (let seed = o.start; seed < o.start + o.seeds; seed++) {
    const r = runSyncSimulation({
      seed,
      steps: o.steps,
      ...(o.unsafe !== undefined ? { unsafe: { [o.unsafe]: true } } : {}),
      ...(o.verbose ? { onEvent: (line: string) => console.log(line) } : {}),
    });
    steps += r.steps;
    if (r.ok) passed++;
    else {
      failed++;
      console.log(formatSyncFailure(r, o));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`seeds ${o.start}..${o.start + o.seeds - 1}: ${steps} steps in ${seconds.toFixed(1)} s, ${Math.round(steps / Math.max(seconds, 1e-9))} steps/s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main();
