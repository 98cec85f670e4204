// `regionstore member reseed --data-dir DIR --endpoints URL[,URL...]`: brings back a stopped
// member whose raft/ cannot be read, from its peers (reseed.ts says how and why it is safe).

import { ReseedError, reseedMember } from './reseed.js';

const USAGE = `Usage: regionstore member reseed --data-dir DIR --endpoints URL[,URL...]

Brings back a member that refuses to start because its raft log database (raft/) cannot
be read (the refusal names this command). Run it with the member stopped; --endpoints
are client URLs of the other members. It moves raft/ and the state databases aside into
DIR/reseed-aside-<time>/ (nothing is deleted), writes a raft/ that only records the
cluster's current term (so the member never votes twice in a term), and leaves the
member id as it was. Then start the member with the same flags as before: it receives
the log and the state from the leader, and serves once it has caught up.`;

export async function memberCommand(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    console.log(USAGE);
    return;
  }
  if (verb !== 'reseed') {
    console.error(`regionstore member: unknown subcommand ${JSON.stringify(verb)} (only "reseed")\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const flags = parseFlags(rest);
  if ('error' in flags) {
    console.error(`regionstore member reseed: ${flags.error}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  try {
    const r = await reseedMember(flags.dataDir, flags.endpoints);
    console.log(`reseeded member ${r.memberId} in ${flags.dataDir}: moved ${r.moved.join(', ') || 'nothing'} to ${r.movedTo}; ` +
      `it starts at term ${r.term} (from ${r.peers.map((p) => `${p.endpoint}: ${p.raftTerm}`).join(', ')}) and never votes in it or before; it serves once it holds index ${r.committed}.`);
    console.log('start it with the same `regionstore serve` flags as before; it catches up from the leader.');
  } catch (err) {
    if (!(err instanceof ReseedError)) throw err;
    console.error(`regionstore member reseed: ${err.message}`);
    process.exitCode = 1;
  }
}

function parseFlags(argv: string[]): { dataDir: string; endpoints: string[] } | { error: string } {
  let dataDir: string | undefined;
  let endpoints: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) return { error: `${name} needs a value` };
    if (name === '--data-dir') dataDir = value;
    else if (name === '--endpoints') endpoints = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    else return { error: `unknown flag ${name}` };
  }
  if (dataDir === undefined) return { error: '--data-dir is required' };
  if (endpoints.length === 0) return { error: '--endpoints is required (client URLs of the other members)' };
  return { dataDir, endpoints };
}
