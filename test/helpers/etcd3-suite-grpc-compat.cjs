// Preloaded (mocha --require) by test/etcd3-suite.test.ts into the etcd3@0.2.13 suite's
// process. That etcd3 was written for the native `grpc` module, which the install replaces
// with @grpc/grpc-js (scripts/install-client-suites.ts). One difference in their APIs shows:
// etcd3 passes `undefined` call options to unary calls (client.range(req, metadata,
// undefined, cb)), which native grpc accepted and grpc-js refuses with "Incorrect arguments
// passed". This gives grpc-js `{}` there, as native grpc treated it; nothing else changes.
'use strict';
// The suite's `grpc` (its folder is mocha's cwd), i.e. the @grpc/grpc-js it was given.
const grpc = require(require.resolve('grpc', { paths: [process.cwd()] }));

const check = grpc.Client.prototype.checkOptionalUnaryResponseArguments;
grpc.Client.prototype.checkOptionalUnaryResponseArguments = function (metadata, options, callback) {
  const absent = metadata instanceof grpc.Metadata && options === undefined && typeof callback === 'function';
  return check.call(this, metadata, absent ? {} : options, callback);
};
