// Ends a test file's process as soon as it exits, skipping Node's environment teardown.
//
// Why: twice in clean-clone CI runs, and in the lead's runs beside other work,
// chaos/runner/chaos.test.ts (and later chaos-crdt.test.ts and test/edge-resume.test.ts,
// all three through chaos/proxy) passed every test and then never ended, one core at
// 100 %. A native profile (perf, gdb) of the stuck process showed where: the main thread
// spinning in uv_run inside node::Environment::CleanupHandles, called from
// FreeEnvironment after the 'exit' event, with the threadpool idle — Node 20 waiting at
// teardown for a handle or request of a finished run (sockets and pipes of killed member
// processes, proxies) that never completes. No JavaScript runs there, so no timer can
// end it. process.exit() inside an 'exit' listener goes straight to the C exit with the
// code the tests set, after stdout (a pipe: synchronous on Linux) has the results.
//
// scripts/run-tests.ts loads it into every test file's process (--import).

process.on('exit', (code) => {
  process.exit(code);
});
