// Ends a test file's process as soon as it exits, skipping Node's environment teardown.
//
// Why: twice in clean-clone CI runs, and once while the lead ran `npm test` beside seven
// helpers, chaos/runner/chaos.test.ts passed every test and then never ended, one core
// at 100 %. A native profile (perf, gdb) of the stuck process showed where: the main
// thread spinning in uv_run inside node::Environment::CleanupHandles, called from
// FreeEnvironment after the 'exit' event, with the threadpool idle — Node 20 waiting at
// teardown for a handle or request of a finished run (sockets and pipes of killed member
// processes, proxies) that never completes. No JavaScript runs there, so no timer can
// end it. process.exit() inside an 'exit' listener goes straight to the C exit with the
// code the tests set, after stdout (a pipe: synchronous on Linux) has the results.
//
// Import it for its effect, first, in test files that drive real processes and proxies.

process.on('exit', (code) => {
  process.exit(code);
});
