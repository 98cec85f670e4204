// A mocha reporter for the client suites (test/*-suite.test.ts): mocha's own "spec" output
// for a person, and every test's outcome written as JSON to $MOCHA_RESULTS_FILE for the test
// that runs the suite to compare with its list of known failures.
'use strict';
const { writeFileSync } = require('node:fs');
// The suite's own mocha (mocha runs with the suite's folder as cwd), not one beside this file.
const Spec = require(require.resolve('mocha/lib/reporters/spec', { paths: [process.cwd()] }));

class ResultsReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    const results = [];
    runner.on('pass', (t) => results.push({ title: t.fullTitle(), file: t.file, state: 'passed' }));
    runner.on('fail', (t, err) => results.push({ title: t.fullTitle(), file: t.file, state: 'failed', error: String(err && err.message) }));
    runner.on('pending', (t) => results.push({ title: t.fullTitle(), file: t.file, state: 'pending' }));
    runner.once('end', () => writeFileSync(process.env.MOCHA_RESULTS_FILE, JSON.stringify(results, null, 1)));
  }
}
module.exports = ResultsReporter;
