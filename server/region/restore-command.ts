// `regionstore snapshot restore <file> [flags]`: etcd's `etcdctl snapshot restore` for a
// regionstore member. Takes etcd's restore flags; run it once per member, each with its
// own --name, --data-dir and --initial-advertise-peer-urls and the same --initial-cluster
// and --initial-cluster-token, then start each member with `regionstore serve` and those
// same flags: the new cluster's ids come from them (a fresh cluster, as etcd's restore
// makes one), its data from the snapshot.

import { RestoreError, restoreEtcdSnapshot } from './etcd-restore.js';

const USAGE = `Usage: regionstore snapshot restore <snapshot.db> [flags]

Restores a snapshot taken with \`etcdctl snapshot save\` (from etcd or regionstore) into a
new member data directory: keys, values, revisions, versions, the compaction point and
leases. Run it for every member of the new cluster, then start each member with
\`regionstore serve\` and the same --name, --data-dir and --initial-* flags.

Flags (etcd's):
  --data-dir DIR                     the new member's data directory (default <name>.regionstore); must not exist or be empty
  --name NAME                        the member's name (default "default")
  --initial-cluster N1=URL,N2=URL    the new cluster's members (default <name>=<initial-advertise-peer-urls>)
  --initial-cluster-token TOKEN      the new cluster's token (default "regionstore-cluster", as serve's)
  --initial-advertise-peer-urls URL  this member's peer URL (default http://localhost:2380)
  --skip-hash-check                  accept a file without the SHA-256 etcd appends (a copied db file)`;

interface RestoreFlags {
  file: string;
  dataDir: string;
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string;
  skipHashCheck: boolean;
}

const VALUE_FLAGS = ['data-dir', 'name', 'initial-cluster', 'initial-cluster-token', 'initial-advertise-peer-urls'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

/** Parses the flags, or says what is wrong with them. */
export function parseRestoreFlags(argv: string[]): RestoreFlags | { error: string } {
  const values = new Map<ValueFlag, string>();
  const positional: string[] = [];
  let skipHashCheck = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (name === 'skip-hash-check') {
      skipHashCheck = eq < 0 || arg.slice(eq + 1) !== 'false';
      continue;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) return { error: `unknown flag --${name}` };
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') return { error: `--${name} needs a value` };
    values.set(name as ValueFlag, value);
  }
  if (positional.length !== 1) return { error: `expected one snapshot file, got ${positional.length}` };
  const name = values.get('name') ?? 'default';
  const peerUrl = values.get('initial-advertise-peer-urls') ?? 'http://localhost:2380';
  const initialCluster = values.get('initial-cluster') ?? `${name}=${peerUrl}`;
  const members = initialCluster.split(',').map((m) => m.split('='));
  if (members.some((m) => m.length !== 2 || m[0] === '' || !/^https?:\/\//.test(m[1]!))) {
    return { error: `--initial-cluster ${JSON.stringify(initialCluster)} is not NAME=URL,NAME=URL,...` };
  }
  const mine = members.filter(([n]) => n === name).map(([, u]) => u!);
  if (mine.length === 0) return { error: `--initial-cluster has no member named "${name}"; add ${name}=<its peer URL> or fix --name` };
  if (!peerUrl.split(',').some((u) => mine.includes(u))) {
    return { error: `--initial-advertise-peer-urls ${peerUrl} is not ${name}'s URL in --initial-cluster (${mine.join(',')})` };
  }
  return {
    file: positional[0]!,
    dataDir: values.get('data-dir') ?? `${name}.regionstore`,
    name,
    initialCluster,
    initialClusterToken: values.get('initial-cluster-token') ?? 'regionstore-cluster',
    initialAdvertisePeerUrls: peerUrl,
    skipHashCheck,
  };
}

export async function snapshotCommand(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || (verb === 'restore' && rest.includes('--help'))) {
    console.log(USAGE);
    return;
  }
  if (verb !== 'restore') {
    console.error(`regionstore snapshot: unknown subcommand ${JSON.stringify(verb)} (only "restore"; \`etcdctl snapshot save\` takes snapshots)`);
    process.exitCode = 2;
    return;
  }
  const flags = parseRestoreFlags(rest);
  if ('error' in flags) {
    console.error(`regionstore snapshot restore: ${flags.error}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  try {
    const s = await restoreEtcdSnapshot({ file: flags.file, dataDir: flags.dataDir, skipHashCheck: flags.skipHashCheck });
    for (const r of s.renumberedLeases) {
      console.error(`warning: lease ${r.from.toString(16)} is beyond regionstore's 53-bit lease ids; restored as ${r.to.toString(16)}`);
    }
    console.log(`restored ${flags.file} into ${flags.dataDir}: revision ${s.revision}, compacted ${s.compactedRevision}, ` +
      `${s.records} revision records, ${s.leases} leases, ${s.users ?? 0} users, ${s.roles ?? 0} roles, auth ${s.authEnabled === true ? 'enabled' : 'disabled'}`);
    console.log(`start it with: regionstore serve --name ${flags.name} --data-dir ${flags.dataDir} ` +
      `--initial-cluster ${flags.initialCluster} --initial-cluster-token ${flags.initialClusterToken} ` +
      `--initial-advertise-peer-urls ${flags.initialAdvertisePeerUrls} --listen-peer-urls ... --listen-client-urls ...`);
  } catch (err) {
    if (!(err instanceof RestoreError) && !(err instanceof Error && err.name === 'BboltFormatError')) throw err;
    console.error(`regionstore snapshot restore: ${err.message}`);
    process.exitCode = 1;
  }
}
