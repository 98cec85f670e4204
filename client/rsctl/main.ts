#!/usr/bin/env node
// rsctl: regionstore's command line (etcdctl's commands and flags, plus `bench`).
//   rsctl --endpoints 127.0.0.1:2379 put foo bar   (installed; from the tree: npx tsx client/rsctl/main.ts ...)
// See cli.ts for the command table and exit.ts for the exit codes.

import { runCli } from './cli.js';

/**
 * After Ctrl-C, a command that watches the signal (watch, keep-alive, bench) ends by
 * itself; one that does not (a unary call waiting out its deadline) is cut off after this.
 */
const INTERRUPT_GRACE_MS = 1_000;
/** Exit code of a command cut off by a signal (128 + SIGINT, as shells report it). */
const INTERRUPTED_EXIT_CODE = 130;

const ac = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (ac.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    ac.abort(new Error(`interrupted by ${sig}`));
    setTimeout(() => process.exit(INTERRUPTED_EXIT_CODE), INTERRUPT_GRACE_MS).unref();
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  get stdin() {
    return process.stdin; // opened only when a command reads it (put without a value, txn)
  },
  env: process.env,
  signal: ac.signal,
});
process.exitCode = code;
// The client is closed, so the process should exit now; this only guards against a
// handle left open by mistake (an unref'd timer does not itself keep the process up).
setTimeout(() => process.exit(code), INTERRUPT_GRACE_MS).unref();
