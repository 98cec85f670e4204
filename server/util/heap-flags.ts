// The V8 heap sizing a member runs with (issue 20: event-loop delay peaks under load).
//
// A put lives on the leader from its gRPC call to its apply: with 256 calls in flight that
// is ~100–300 ms, and the leader allocates ~37 KB per put (grpc-js and node:http2 most of
// it), so with V8's default young generation (16 MiB semi-spaces on 64-bit) a scavenge ran
// every ~150 ms and the state of calls still in flight was copied twice and promoted: ~6 KB
// per put reached the old generation, to die there soon after and be found by a
// Mark-Compact (pauses of 100–300 ms on this machine). A larger semi-space lets a call
// finish before its second scavenge. scripts/trace-put-gc.ts measures it (README "Heap
// sizing").
//
// V8 reads the flag when the isolate is created: v8.setFlagsFromString() from the running
// program changes nothing (verified: new_space stays at its default size; heap-flags.test.ts
// checks the command line does change it). Only node's command line or NODE_OPTIONS can set
// it, and node has no exec to restart itself with it, so it goes where members are started: the `regionstore` bin's shebang (server/main.ts), the cluster
// launcher's command (cluster/launcher.ts), and the docs for anyone who runs
// `node dist/server/main.js` by hand. A flag given by the operator (command line or
// NODE_OPTIONS) is kept as given.

// The young generation also starts at that size (--min-semi-space-size), instead of growing
// from 1 MiB by doubling: while it grew, a fresh member scavenged far more often and
// promoted the state of calls in flight, so its first tens of thousands of puts ran slower
// (session 9, `bench:scale --keys 100000 --steps ""`, two pairs, quiet: last tenth of 1k→10k
// 6,696 and 7,875 puts/s without, 9,831 and 12,121 with; 10k→100k 7,803 / 7,964 vs 8,356 /
// 8,751; RSS per member at 100k 276-306 vs 232-309 MiB). V8 takes --min-semi-space-size only
// from the command line, not from NODE_OPTIONS.

/** The semi-space size (MiB) members run with: the young generation is 3× this at most. */
export const SEMI_SPACE_MB = 32;
const FLAG = '--max-semi-space-size';
const MIN_FLAG = '--min-semi-space-size';

/**
 * The node flags a member is started with, unless `given` (execArgv, NODE_OPTIONS) sets a
 * semi-space size itself (then none: a smaller max than our min would conflict).
 */
export function memberNodeFlags(given: readonly string[] = []): string[] {
  return given.some((a) => a.startsWith(FLAG) || a.startsWith(MIN_FLAG)) ? [] : [`${FLAG}=${SEMI_SPACE_MB}`, `${MIN_FLAG}=${SEMI_SPACE_MB}`];
}

/** The last of node's flags starting with one of `prefixes` that this process got (NODE_OPTIONS, then its command line, which wins). */
export function givenNodeFlag(prefixes: readonly string[], execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string | undefined {
  return [...nodeOptions.split(/\s+/), ...execArgv].filter((a) => prefixes.some((p) => a.startsWith(p))).pop();
}

/** The semi-space flag this process runs with, if any (its command line or NODE_OPTIONS). */
export function semiSpaceFlag(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string | undefined {
  return givenNodeFlag([FLAG], execArgv, nodeOptions);
}
