// version: rsctl's version (the package's) and the etcd API version it speaks, as etcdctl prints them.

import { readFileSync } from 'node:fs';
import { expectArgs } from '../args.js';
import type { Command } from '../command.js';

/** The etcd v3 API version of proto/etcd. */
export const API_VERSION = '3.4';

function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
    } catch {
      /* not there: try the next (source tree or dist/) */
    }
  }
  return 'unknown';
}

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
