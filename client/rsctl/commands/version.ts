// version: rsctl's version (the package's) and the etcd API version it speaks, as etcdctl prints them.

import { ETCD_API_VERSION, packageVersion } from '../../../server/util/version.js';
import { expectArgs } from '../args.js';
import type { Command } from '../command.js';

/** The etcd v3 API version of proto/etcd (etcdctl prints it as "API version"). */
export const API_VERSION = ETCD_API_VERSION;

export const versionCommand: Command = {
  name: 'version',
  usage: 'rsctl version',
  summary: 'Prints rsctl\'s version and the API version',
  flags: [],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    const version = packageVersion();
    if (ctx.global.writeOut === 'json') return ctx.out.json({ rsctl: version, api: API_VERSION });
    ctx.out.line(`rsctl version: ${version}`);
    ctx.out.line(`API version: ${API_VERSION}`);
  },
};
