// npm run sim -- --seeds N --start S --steps M [--nodes 3|5] [--unsafe <switch>] [--profile p] [--storage-faults k1,k2] [--serve-lost-state] [--verbose]
// Runs seeds S..S+N-1 (3 nodes for even seeds, 5 for odd ones unless --nodes), prints each
// failure with its seed, a one-line replay command and the last events before the
// violation, then steps per second and, last, exactly `N passed, F failed`.

import { formatFailure } from './cli-format.js';
import { formatEvent } from './events.js';
import { PROFILES, STORAGE_FAULT_KINDS, type Profile, type StorageFaultKind } from './scenario.js';
import { runSimulation } from './simulator.js';
import type { UnsafeTestingSwitches } from '../../server/raft/config.js';

export const UNSAFE_SWITCHES = ['commitEntriesOfAnyTerm', 'ackBeforePersist', 'readIndexWithoutQuorumCheck', 'campaignAndVoteWithLostEntries'] as const;
export type UnsafeSwitch = (typeof UNSAFE_SWITCHES)[number];

interface CliOptions {
  seeds: number;
  start: number;
  steps: number;
  nodes?: number;
  unsafe?: UnsafeSwitch;
  profile?: Profile;
  storageFaults?: StorageFaultKind[];
  serveLostState?: boolean;
  verbose: boolean;
}

const USAGE = 'usage: npm run sim -- --seeds N --start S --steps M [--nodes 3|5] [--unsafe <switch>] [--profile <p>] [--storage-faults k1,k2] [--serve-lost-state] [--verbose]';

function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { seeds: 100, start: 1, steps: 2000, verbose: false };
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
    else if (flag === '--nodes') o.nodes = int();
    else if (flag === '--verbose') o.verbose = true;
    else if (flag === '--unsafe') {
      const v = value();
      if (!(UNSAFE_SWITCHES as readonly string[]).includes(v)) throw new Error(`--unsafe takes one of ${UNSAFE_SWITCHES.join(', ')}`);
      o.unsafe = v as UnsafeSwitch;
    } else if (flag === '--profile') {
      const v = value();
      if (!(PROFILES as readonly string[]).includes(v)) throw new Error(`--profile takes one of ${PROFILES.join(', ')}`);
      o.profile = v as Profile;
    } else if (flag === '--storage-faults') {
      const v = value().split(',');
      const bad = v.filter((k) => !(STORAGE_FAULT_KINDS as readonly string[]).includes(k));
      if (bad.length > 0) throw new Error(`--storage-faults takes some of ${STORAGE_FAULT_KINDS.join(', ')}; not ${bad.join(', ')}`);
      o.storageFaults = v as StorageFaultKind[];
    } else if (flag === '--serve-lost-state') {
      o.serveLostState = true;
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
  const unsafe: UnsafeTestingSwitches = o.unsafe === undefined ? {} : { [o.unsafe]: true };
  let passed = 0;
  let failed = 0;
  let steps = 0;
  const started = performance.now();
  for (let seed = o.start; seed < o.start + o.seeds; seed++) {
    const r = runSimulation({
      seed,
      steps: o.steps,
      unsafe,
      ...(o.nodes !== undefined ? { nodes: o.nodes } : {}),
      ...(o.profile !== undefined ? { profile: o.profile } : {}),
      ...(o.storageFaults !== undefined ? { storageFaultKinds: o.storageFaults } : {}),
      ...(o.serveLostState === true ? { serveLostState: true } : {}),
      ...(o.verbose ? { onEvent: (e) => console.log(formatEvent(e)) } : {}),
    });
    steps += r.steps;
    if (r.ok) passed++;
    else {
      failed++;
      console.log(formatFailure(r, o));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`seeds ${o.start}..${o.start + o.seeds - 1}: ${steps} steps in ${seconds.toFixed(1)} s, ${Math.round(steps / Math.max(seconds, 1e-9))} steps/s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main();
