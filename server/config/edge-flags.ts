// `regionstore edge` flags and environment → a typed EdgeConfig, or every problem found at
// once. Pure like serve-flags.ts: argv and env are arguments. One table drives parsing, the
// REGIONSTORE_EDGE_* variable names and --help, so they cannot drift apart.
//
// Precedence per setting: flag, then REGIONSTORE_EDGE_<FLAG>, then the default.
import { UNSAFE_ENV } from './flag-table.js';
import { isBindableHost, parseHostPort, parseUrlList, type HostPort, type ServeUrl } from './urls.js';

export const EDGE_ENV_PREFIX = 'REGIONSTORE_EDGE_';
/** A device id goes into replica ids (`edge:<device>:<incarnation>`), metric labels and logs. */
export const DEVICE_ID_CHARS_MAX = 64;
const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/**
 * An edge group names a set of edges (a site, a fleet); the region's sync metrics carry it as
 * a label, so it must stay one of a few names chosen by configuration, never a device id.
 */
export const EDGE_GROUP_CHARS_MAX = 64;
export const EDGE_GROUP_RE = /^[a-z0-9][a-z0-9._-]*$/;
export const EDGE_GROUP_DEFAULT = 'default';
/** The skew the test-only clock offset may fake: a day either way. */
export const CLOCK_OFFSET_MS_MAX = 24 * 3600_000;
export const EDGE_LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type EdgeLogLevel = (typeof EDGE_LOG_LEVELS)[number];
/** TLS flags, etcd's names (kept out of EdgeFlagKey's line so that list can grow apart). */
type EdgeTlsFlagKey = 'certFile' | 'keyFile' | 'trustedCaFile';

type EdgeFlagKey = 'name' | 'group' | 'dataDir' | 'region' | 'listenClientUrls' | 'namespaces' | 'metricsAddr' | 'listenMetricsUrls' | 'logLevel' | 'unsafeClockOffsetMs'
  | 'unsafeRecordDurablePoints';

interface EdgeFlagSpec {
  key: EdgeFlagKey | EdgeTlsFlagKey;
  flag: string;
  required?: boolean;
  defaultText?: string;
  help: string;
}

const EDGE_FLAGS: readonly EdgeFlagSpec[] = [
  { key: 'name', flag: 'name', required: true, help: 'The device id ([A-Za-z0-9._-], at most 64): the edge\'s replica id is edge:<name>:<incarnation>.' },
  {
    key: 'group', flag: 'group', defaultText: EDGE_GROUP_DEFAULT,
    help: `The edge group ([a-z0-9._-], at most ${EDGE_GROUP_CHARS_MAX}): the region's sync metrics label this edge's\nlag, bytes and failures by it (edge-group:<group>), never by device; give edges of one site or\nfleet the same group.`,
  },
  { key: 'dataDir', flag: 'data-dir', defaultText: '${name}.edge', help: 'Directory of the edge\'s local database (its marker holds the device id and incarnation).' },
  {
    key: 'region', flag: 'region', required: true,
    help: 'Client endpoints of the region, host:port[,host:port...] (any member: a follower\nnames its leader, and every endpoint is tried in turn).',
  },
  { key: 'listenClientUrls', flag: 'listen-client-urls', defaultText: 'http://127.0.0.1:2379', help: 'URLs to serve the client API on (etcd KV + Watch, regionstore.v1.Crdt, Namespaces read-only).' },
  {
    key: 'namespaces', flag: 'namespaces', defaultText: 'all',
    help: 'Namespaces this edge holds, a,b,... (eventual ones sync both ways, strong ones are a read-only\ncopy); all of them when not given.',
  },
  { key: 'metricsAddr', flag: 'metrics-addr', defaultText: '127.0.0.1:0', help: 'host:port of /metrics and /health (port 0: OS-chosen).' },
  {
    key: 'listenMetricsUrls', flag: 'listen-metrics-urls',
    help: 'http:// URLs (comma-separated) to serve /metrics, /health and the status page on, as etcd\'s flag; given alone\nthey replace the --metrics-addr default (loopback), with --metrics-addr both are served.',
  },
  { key: 'logLevel', flag: 'log-level', defaultText: 'info', help: EDGE_LOG_LEVELS.join(' | ') },
  // TLS, etcd's flag names: the edge's certificate is its identity to the region (the region
  // takes the device id from its CN or a SAN) and, with https:// listen URLs, its own port's.
  {
    key: 'certFile', flag: 'cert-file',
    help: 'PEM certificate: presented to the region (its CN or a URI SAN names this edge, e.g. CN=edge:<name>)\nand served on https:// listen URLs.',
  },
  { key: 'keyFile', flag: 'key-file', help: 'PEM key of --cert-file.' },
  { key: 'trustedCaFile', flag: 'trusted-ca-file', help: 'PEM CA bundle that signs the region\'s certificates (TLS to the region; https:// in --region does the same).' },
  {
    key: 'unsafeClockOffsetMs', flag: 'unsafe-clock-offset-ms', defaultText: '0',
    help: `FOR TESTING ONLY (refused unless ${UNSAFE_ENV}=1): add this many ms (may be negative) to the edge's clock, to\ntest the region's clock-skew bound.`,
  },
  {
    key: 'unsafeRecordDurablePoints', flag: 'unsafe-record-durable-points', defaultText: 'false',
    help: `FOR TESTING ONLY (refused unless ${UNSAFE_ENV}=1): true records, after every fsynced write, the sizes of the\nlocal database's WAL files, so the chaos harness can emulate a power cut (drop what was not fsynced).`,
  },
];

export interface EdgeConfig {
  /** The device id. */
  name: string;
  /** The edge group (metrics label). */
  group: string;
  dataDir: string;
  /** Region client endpoints as host:port. */
  region: string[];
  listenClientUrls: ServeUrl[];
  /** Undefined: every namespace of the registry. */
  namespaces: string[] | undefined;
  metricsAddr: HostPort;
  /** Every address of the metrics server: --listen-metrics-urls (+ --metrics-addr when given too), else --metrics-addr. */
  metricsListeners: HostPort[];
  logLevel: EdgeLogLevel;
  /** Testing only (REGIONSTORE_UNSAFE=1): added to every clock reading. */
  unsafeClockOffsetMs: number;
  /** Testing only (REGIONSTORE_UNSAFE=1): durable points of the local database for the power-cut emulation. */
  unsafeRecordDurablePoints: boolean;
  /** TLS files; `region`: dial the region over TLS (https:// endpoints or a CA given). */
  tls: { certFile?: string; keyFile?: string; trustedCaFile?: string; region: boolean };
}

export type EdgeFlagsResult =
  | { kind: 'config'; config: EdgeConfig; warnings: string[] }
  | { kind: 'help'; text: string }
  | { kind: 'error'; errors: string[] };

export type Env = Readonly<Record<string, string | undefined>>;

export function edgeEnvName(flag: string): string {
  return EDGE_ENV_PREFIX + flag.toUpperCase().replaceAll('-', '_');
}

export function edgeHelp(): string {
  const lines = [
    'Usage: regionstore edge --name DEVICE --region host:port[,...] [flags]',
    '',
    'Runs an edge replica: a local copy that takes writes while cut off from the region and',
    'converges with it over the EdgeSync delta protocol. Every flag can also be set by an',
    'environment variable (REGIONSTORE_EDGE_ + the flag name in capitals, dashes as',
    'underscores). A flag wins over a variable.',
    '',
  ];
  for (const spec of EDGE_FLAGS) {
    lines.push(`  --${spec.flag}${spec.required === true ? ' (required)' : ''}`);
    for (const h of spec.help.split('\n')) lines.push(`      ${h}`);
    lines.push(`      env: ${edgeEnvName(spec.flag)}${spec.defaultText === undefined ? '' : `; default: ${spec.defaultText}`}`);
  }
  lines.push('  -h, --help', '      Show this text.', '');
  return lines.join('\n');
}

const BY_FLAG = new Map(EDGE_FLAGS.map((s) => [s.flag, s]));

export function parseEdgeFlags(argv: readonly string[], env: Env): EdgeFlagsResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const raw = new Map<EdgeFlagKey | EdgeTlsFlagKey, { text: string; source: string }>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--?([^=]+)(?:=([\s\S]*))?$/.exec(arg);
    if (m === null || arg === '-' || arg === '--') {
      errors.push(`unexpected argument "${arg}": edge takes only flags (see --help)`);
      continue;
    }
    const flag = m[1] as string;
    if (flag === 'h' || flag === 'help') return { kind: 'help', text: edgeHelp() };
    const spec = BY_FLAG.get(flag);
    if (spec === undefined) {
      errors.push(`unknown flag --${flag}; see regionstore edge --help for the list`);
      if (m[2] === undefined && i + 1 < argv.length && !(argv[i + 1] as string).startsWith('-')) i++;
      continue;
    }
    let text = m[2];
    if (text === undefined) {
      if (i + 1 >= argv.length) {
        errors.push(`--${flag} needs a value (--${flag} VALUE or --${flag}=VALUE)`);
        continue;
      }
      text = argv[++i] as string;
    }
    if (raw.has(spec.key)) warnings.push(`--${spec.flag} is given more than once; the last one is used`);
    raw.set(spec.key, { text, source: `--${flag}` });
  }
  const known = new Set(EDGE_FLAGS.map((s) => edgeEnvName(s.flag)));
  for (const spec of EDGE_FLAGS) {
    const name = edgeEnvName(spec.flag);
    const v = env[name];
    if (!raw.has(spec.key) && v !== undefined && v !== '') raw.set(spec.key, { text: v, source: name });
  }
  for (const k of Object.keys(env)) {
    if (k.startsWith(EDGE_ENV_PREFIX) && !known.has(k)) warnings.push(`environment variable ${k} is not an edge setting; it is ignored`);
  }
  const src = (key: EdgeFlagKey | EdgeTlsFlagKey): string => raw.get(key)?.source ?? `--${(EDGE_FLAGS.find((s) => s.key === key) as EdgeFlagSpec).flag}`;
  const text = (key: EdgeFlagKey | EdgeTlsFlagKey): string | undefined => raw.get(key)?.text.trim();

  const name = text('name') ?? '';
  if (name === '') errors.push('--name is required: the device id of this edge (e.g. --name truck-17)');
  else if (!DEVICE_ID_RE.test(name) || name.length > DEVICE_ID_CHARS_MAX) {
    errors.push(`${src('name')}: "${name}" is not a device id: [A-Za-z0-9][A-Za-z0-9._-]*, at most ${DEVICE_ID_CHARS_MAX} characters`);
  }

  const group = text('group') ?? EDGE_GROUP_DEFAULT;
  if (!EDGE_GROUP_RE.test(group) || group.length > EDGE_GROUP_CHARS_MAX) {
    errors.push(`${src('group')}: "${group}" is not a group name: [a-z0-9][a-z0-9._-]*, at most ${EDGE_GROUP_CHARS_MAX} characters (e.g. --group site-a)`);
  }

  const region: string[] = [];
  const regionText = text('region') ?? '';
  if (regionText === '') errors.push('--region is required: the region\'s client endpoints, host:port[,host:port...]');
  else {
    for (const part of regionText.split(',').map((p) => p.trim().replace(/^https?:\/\//, '').replace(/\/+$/, ''))) {
      const hp = parseHostPort(part);
      if (!hp.ok || hp.value.port === 0) errors.push(`${src('region')}: "${part}" is not host:port (a region member's client endpoint)`);
      else region.push(`${hp.value.host.includes(':') ? `[${hp.value.host}]` : hp.value.host}:${hp.value.port}`);
    }
  }

  let listenClientUrls: ServeUrl[] = [];
  const lr = parseUrlList(text('listenClientUrls') ?? 'http://127.0.0.1:2379');
  if (!lr.ok) errors.push(`${src('listenClientUrls')}: ${lr.error}`);
  else {
    listenClientUrls = lr.value;
    for (const u of lr.value) {
      if (!isBindableHost(u.host)) errors.push(`${src('listenClientUrls')}: ${u.url}: a listen URL binds a local address; give an IP or localhost`);
    }
  }

  let namespaces: string[] | undefined;
  const nsText = text('namespaces');
  if (nsText !== undefined && nsText !== '' && nsText !== 'all') {
    namespaces = [...new Set(nsText.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
    for (const n of namespaces) if (!/^[a-z0-9][a-z0-9._-]*$/.test(n)) errors.push(`${src('namespaces')}: "${n}" is not a namespace name`);
  }

  let metricsAddr: HostPort = { host: '127.0.0.1', port: 0 };
  const mr = parseHostPort(text('metricsAddr') ?? '127.0.0.1:0');
  if (!mr.ok) errors.push(`${src('metricsAddr')}: ${mr.error}`);
  else metricsAddr = mr.value;
  const metricsListeners: HostPort[] = [];
  const mu = text('listenMetricsUrls');
  if (mu !== undefined) {
    const parsed = parseUrlList(mu);
    if (!parsed.ok) errors.push(`${src('listenMetricsUrls')}: ${parsed.error}`);
    else {
      for (const u of parsed.value) {
        if (!isBindableHost(u.host)) errors.push(`${src('listenMetricsUrls')}: ${u.url}: a listen URL binds a local address; give an IP or localhost`);
        metricsListeners.push({ host: u.host, port: u.port });
      }
    }
  }
  const addrGiven = text('metricsAddr') !== undefined;
  if (metricsListeners.length === 0 || (addrGiven && !metricsListeners.some((l) => l.host === metricsAddr.host && l.port === metricsAddr.port))) {
    metricsListeners.push(metricsAddr);
  }

  const level = text('logLevel') ?? 'info';
  let logLevel: EdgeLogLevel = 'info';
  if ((EDGE_LOG_LEVELS as readonly string[]).includes(level)) logLevel = level as EdgeLogLevel;
  else errors.push(`${src('logLevel')}: "${level}" is not one of ${EDGE_LOG_LEVELS.join(', ')}`);

  let unsafeClockOffsetMs = 0;
  const off = text('unsafeClockOffsetMs');
  if (off !== undefined) {
    const n = Number(off);
    if (!/^-?\d+$/.test(off) || !Number.isSafeInteger(n) || Math.abs(n) > CLOCK_OFFSET_MS_MAX) {
      errors.push(`${src('unsafeClockOffsetMs')}: "${off}" is not a whole number of ms within ±${CLOCK_OFFSET_MS_MAX}`);
    } else if (n !== 0 && env[UNSAFE_ENV] !== '1') {
      errors.push(`${src('unsafeClockOffsetMs')} is a testing flag: it is refused unless ${UNSAFE_ENV}=1 is set`);
    } else unsafeClockOffsetMs = n;
  }
  let unsafeRecordDurablePoints = false;
  const rec = text('unsafeRecordDurablePoints');
  if (rec !== undefined && rec !== '') {
    if (rec !== 'true' && rec !== 'false') errors.push(`${src('unsafeRecordDurablePoints')}: "${rec}" is not true or false`);
    else if (rec === 'true' && env[UNSAFE_ENV] !== '1') {
      errors.push(`${src('unsafeRecordDurablePoints')} is a testing flag: it is refused unless ${UNSAFE_ENV}=1 is set`);
    } else unsafeRecordDurablePoints = rec === 'true';
  }

  const tls: EdgeConfig['tls'] = { region: /https:\/\//i.test(regionText) || text('trustedCaFile') !== undefined };
  for (const k of ['certFile', 'keyFile', 'trustedCaFile'] as const) {
    const v = text(k);
    if (v !== undefined && v !== '') tls[k] = v;
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) errors.push('--cert-file and --key-file go together: give both or neither');
  if (listenClientUrls.some((u) => u.scheme === 'https') && tls.certFile === undefined) {
    errors.push(`${src('listenClientUrls')}: https:// needs --cert-file and --key-file`);
  }
  if (new Set(listenClientUrls.map((u) => u.scheme)).size > 1) errors.push(`${src('listenClientUrls')}: mixes http:// and https://; use one scheme`);

  if (errors.length > 0) return { kind: 'error', errors };
  return {
    kind: 'config',
    warnings,
    config: { name, group, dataDir: text('dataDir') ?? `${name}.edge`, region, listenClientUrls, namespaces, metricsAddr, metricsListeners, logLevel, unsafeClockOffsetMs, unsafeRecordDurablePoints, tls },
  };
}
