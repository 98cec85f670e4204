// `regionstore serve` flags and environment → a typed ServeConfig, or every problem found
// at once (an operator fixes them in one go, not one per restart). Pure: argv and env are
// arguments, nothing is read from the process.
//
// Precedence per setting: flag, then REGIONSTORE_* variable, then etcd's ETCD_* variable,
// then the default. The --initial-* flags are never required: whether they are needed
// (a new data dir) or ignored (a restart) is the region node's decision, since only it
// looks at the data dir.
import { parseGoDurationMs } from '../util/go-duration.js';
import {
  CLUSTER_STATES, ELECTION_HEARTBEAT_RATIO_MIN, ELECTION_MS_DEFAULT, ELECTION_MS_MAX, ENV_PREFIX, FLAGS,
  AUTH_TOKEN_TTL_S_DEFAULT, BCRYPT_COST_DEFAULT, HEARTBEAT_MS_DEFAULT, HEARTBEAT_MS_MIN, LOG_LEVELS, QUOTA_BACKEND_BYTES_DEFAULT, RECORD_CACHE_MB_DEFAULT, SNAPSHOT_CATCHUP_ENTRIES_DEFAULT, SNAPSHOT_COUNT_DEFAULT, WATCH_PROGRESS_NOTIFY_MS_DEFAULT,
  NON_SETTING_ENV, UNSAFE_ENV, envName, serveHelp,
  CLIENT_HANDSHAKE_TIMEOUT_MS_DEFAULT, CLIENT_IDLE_TIMEOUT_MS_DEFAULT, GRPC_KEEPALIVE_INTERVAL_MS_DEFAULT, GRPC_KEEPALIVE_MIN_TIME_MS_DEFAULT,
  GRPC_KEEPALIVE_TIMEOUT_MS_DEFAULT, MAX_CONCURRENT_STREAMS_DEFAULT, MAX_CONNECTIONS_PER_ADDRESS_DEFAULT, MAX_REQUEST_BYTES_DEFAULT,
  MAX_TXN_OPS_DEFAULT, MAX_WATCHERS_PER_CONNECTION_DEFAULT, MAX_WATCHERS_PER_STREAM_DEFAULT, MAX_WATCH_PENDING_BYTES_DEFAULT, WATCH_STALL_MS_DEFAULT,
  type ClusterState, type FlagKey, type FlagSpec, type LogLevel,
} from './flag-table.js';
import { readTlsFlags, type TlsConfig } from './tls-flags.js';
import {
  isBindableHost, isUnspecifiedHost, parseHostPort, parseInitialCluster, parseUrlList,
  type HostPort, type InitialMember, type ServeUrl,
} from './urls.js';

export type { ClusterState, LogLevel } from './flag-table.js';
export type { PortTlsConfig, TlsConfig } from './tls-flags.js';
export type { HostPort, InitialMember, ServeUrl } from './urls.js';
export { serveHelp } from './flag-table.js';

export interface ServeConfig {
  name: string;
  dataDir: string;
  listenClientUrls: ServeUrl[];
  advertiseClientUrls: ServeUrl[];
  listenPeerUrls: ServeUrl[];
  /** Client and peer TLS, --cipher-suites (tls-flags.ts). */
  tls: TlsConfig;
  /** This member's peer URLs as the others should dial them. */
  initialAdvertisePeerUrls: ServeUrl[];
  /**
   * The founding members when --initial-cluster was given (this member is among them,
   * with exactly initialAdvertisePeerUrls). `undefined` when not given: on a new data dir
   * the node founds a one-member cluster (see `initialMembers`); on a restart the stored
   * membership is used.
   */
  initialCluster: InitialMember[] | undefined;
  initialClusterState: ClusterState;
  initialClusterToken: string;
  /** --metrics-addr (default 127.0.0.1:2381). */
  metricsAddr: HostPort;
  /**
   * Every address the metrics/dashboard server listens on: --listen-metrics-urls, plus
   * --metrics-addr when that is given too; --metrics-addr (or its loopback default) alone
   * when no URL is given. Never empty.
   */
  metricsListeners: HostPort[];
  logLevel: LogLevel;
  electionMs: number;
  heartbeatMs: number;
  snapshotCount: number;
  snapshotCatchupEntries: number;
  /** --experimental-watch-progress-notify-interval in ms. */
  watchProgressNotifyMs: number;
  /** Bytes of the mvcc record cache. */
  recordCacheBytes: number;
  /** --quota-backend-bytes resolved: 0 became the default; -1: no quota. */
  quotaBackendBytes: number;
  /** --namespaces-file: namespaces to create at start if missing ('' = none; server/region/declared-namespaces.ts). */
  namespacesFile: string;
  /** --auth-token: etcd's "simple", or "jwt" with its options (sign-method, pub-key, priv-key, ttl). */
  authToken: { type: 'simple' } | { type: 'jwt'; options: Record<string, string> };
  /** --auth-token-ttl in seconds. */
  authTokenTtlS: number;
  /** --bcrypt-cost. */
  bcryptCost: number;
  /** Testing only: both refused unless REGIONSTORE_UNSAFE=1. */
  unsafeLocalReads: boolean;
  unsafeAckBeforeSync: boolean;
  /** Testing only: retried CRDT writes apply twice (skips the dedupe table for them). */
  unsafeCrdtApplyDuplicates: boolean;
  /** Member name → the peer URL this node dials for it (overrides the advertised one). */
  peerDialMap: Record<string, string>;
  /** --startup-verify: when the databases are read whole at start. */
  startupVerify: StartupVerifyMode;
  /** Limits of the client port (issue 16). */
  limits: ClientPortLimits;
}

/** The client port's limits as the flags set them (server/api takes them as ApiLimits and connection options). */
export interface ClientPortLimits {
  requestBytesMax: number;
  txnOpsMax: number;
  concurrentStreamsMax: number;
  watchersPerStreamMax: number;
  watchersPerConnectionMax: number;
  connectionsPerAddressMax: number;
  watchPendingBytesMax: number;
  watchStallMs: number;
  keepaliveMinTimeMs: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
}

/** The --max-* and keepalive flags (one block, so other flag additions merge without conflict). */
function readLimits(r: Reader): ClientPortLimits {
  return {
    requestBytesMax: r.count('maxRequestBytes', MAX_REQUEST_BYTES_DEFAULT),
    txnOpsMax: r.count('maxTxnOps', MAX_TXN_OPS_DEFAULT),
    concurrentStreamsMax: r.count('maxConcurrentStreams', MAX_CONCURRENT_STREAMS_DEFAULT),
    watchersPerStreamMax: r.count('maxWatchersPerStream', MAX_WATCHERS_PER_STREAM_DEFAULT),
    watchersPerConnectionMax: r.count('maxWatchersPerConnection', MAX_WATCHERS_PER_CONNECTION_DEFAULT),
    connectionsPerAddressMax: r.count('maxConnectionsPerAddress', MAX_CONNECTIONS_PER_ADDRESS_DEFAULT),
    watchPendingBytesMax: r.count('maxWatchPendingBytes', MAX_WATCH_PENDING_BYTES_DEFAULT),
    watchStallMs: r.goDuration('watchStallTimeout', WATCH_STALL_MS_DEFAULT),
    keepaliveMinTimeMs: r.goDuration('grpcKeepaliveMinTime', GRPC_KEEPALIVE_MIN_TIME_MS_DEFAULT),
    keepaliveIntervalMs: r.goDuration('grpcKeepaliveInterval', GRPC_KEEPALIVE_INTERVAL_MS_DEFAULT),
    keepaliveTimeoutMs: r.goDuration('grpcKeepaliveTimeout', GRPC_KEEPALIVE_TIMEOUT_MS_DEFAULT),
    handshakeTimeoutMs: r.goDuration('clientHandshakeTimeout', CLIENT_HANDSHAKE_TIMEOUT_MS_DEFAULT),
    idleTimeoutMs: r.goDuration('clientIdleTimeout', CLIENT_IDLE_TIMEOUT_MS_DEFAULT),
  };
}

export const STARTUP_VERIFY_CHOICES = ['auto', 'always', 'never'] as const;
export type StartupVerifyMode = (typeof STARTUP_VERIFY_CHOICES)[number];

export type ServeFlagsResult =
  | { kind: 'config'; config: ServeConfig; warnings: string[] }
  | { kind: 'help'; text: string }
  | { kind: 'error'; errors: string[] };

export type Env = Readonly<Record<string, string | undefined>>;

/** A setting's raw text and where it came from, for messages ("--name", "REGIONSTORE_NAME"). */
interface Raw {
  text: string;
  source: string;
}

const BY_FLAG = new Map<string, FlagSpec>();
for (const spec of FLAGS) for (const f of [spec.flag, ...(spec.aliases ?? [])]) BY_FLAG.set(f, spec);
const HELP_FLAGS = new Set(['h', 'help']);
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Longest member name; names show up in metrics labels and file names. */
export const NAME_CHARS_MAX = 64;

/** The founding members a new data dir starts with: --initial-cluster, else just this node. */
export function initialMembers(config: ServeConfig): InitialMember[] {
  return config.initialCluster ?? [{ name: config.name, peerUrls: config.initialAdvertisePeerUrls }];
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

function suggest(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = 4; // further than 3 edits is not a typo
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

interface Scanned {
  flags: Map<FlagKey, Raw>;
  help: boolean;
  errors: string[];
  warnings: string[];
}

/** Splits argv into flag values; knows nothing of what the values mean. */
function scanArgv(argv: readonly string[]): Scanned {
  const out: Scanned = { flags: new Map(), help: false, errors: [], warnings: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--?([^=]+)(?:=([\s\S]*))?$/.exec(arg);
    if (m === null || arg === '-' || arg === '--') {
      out.errors.push(`unexpected argument "${arg}": serve takes only flags (see --help)`);
      continue;
    }
    const flag = m[1] as string;
    if (HELP_FLAGS.has(flag)) {
      out.help = true;
      continue;
    }
    const spec = BY_FLAG.get(flag);
    if (spec === undefined) {
      out.errors.push(`unknown flag --${flag}${suggest(flag, BY_FLAG.keys())}; see --help for the list`);
      if (m[2] === undefined && i + 1 < argv.length && !(argv[i + 1] as string).startsWith('-')) i++;
      continue;
    }
    let text = m[2];
    if (text === undefined && spec.boolean === true) text = 'true'; // Go's bool flags: --flag alone
    if (text === undefined) {
      if (i + 1 >= argv.length) {
        out.errors.push(`--${flag} needs a value (--${flag} VALUE or --${flag}=VALUE)`);
        continue;
      }
      text = argv[++i] as string;
    }
    if (out.flags.has(spec.key)) out.warnings.push(`--${spec.flag} is given more than once; the last one is used`);
    out.flags.set(spec.key, { text, source: `--${flag}` });
  }
  return out;
}

/** Flag, then REGIONSTORE_*, then ETCD_*: the raw text of every setting that is set. */
function gather(scanned: Scanned, env: Env): Map<FlagKey, Raw> {
  const raw = new Map<FlagKey, Raw>();
  for (const spec of FLAGS) {
    const fromFlag = scanned.flags.get(spec.key);
    const ours = envName(spec);
    const theirs = spec.etcdEnv;
    if (fromFlag !== undefined) raw.set(spec.key, fromFlag);
    else if (env[ours] !== undefined && env[ours] !== '') raw.set(spec.key, { text: env[ours], source: ours });
    else if (theirs !== undefined && env[theirs] !== undefined && env[theirs] !== '') {
      raw.set(spec.key, { text: env[theirs], source: theirs });
    }
  }
  return raw;
}

function unknownEnvWarnings(env: Env): string[] {
  const known = new Set(FLAGS.map(envName));
  const other = new Set(NON_SETTING_ENV);
  return Object.keys(env)
    .filter((k) => k.startsWith(ENV_PREFIX) && !known.has(k) && !other.has(k))
    .map((k) => `environment variable ${k} is not a serve setting${suggest(k, known)}; it is ignored`);
}

/** Builds typed values from raw text, pushing one message per problem. */
class Reader {
  readonly errors: string[] = [];
  constructor(private readonly raw: Map<FlagKey, Raw>) {}

  given(key: FlagKey): boolean {
    return this.raw.has(key);
  }

  text(key: FlagKey, fallback: string): string {
    return this.raw.get(key)?.text.trim() ?? fallback;
  }

  fail(key: FlagKey, message: string): void {
    const r = this.raw.get(key);
    const spec = FLAGS.find((s) => s.key === key) as FlagSpec;
    this.errors.push(`${r?.source ?? '--' + spec.flag}: ${message}`);
  }

  oneOf<T extends string>(key: FlagKey, allowed: readonly T[], fallback: T): T {
    const text = this.text(key, fallback);
    if ((allowed as readonly string[]).includes(text)) return text as T;
    this.fail(key, `"${text}" is not one of ${allowed.join(', ')}`);
    return fallback;
  }

  ms(key: FlagKey, fallback: number): number {
    const text = this.text(key, String(fallback));
    const n = Number(text);
    if (/^\d+$/.test(text) && Number.isSafeInteger(n) && n > 0) return n;
    this.fail(key, `"${text}" is not a whole number of milliseconds above 0`);
    return fallback;
  }

  /** A Go duration as etcd's flags take it ("500ms", "5s", "1h30m"), above 0, in whole ms. */
  goDuration(key: FlagKey, fallbackMs: number): number {
    const text = this.text(key, `${fallbackMs}ms`);
    const ms = parseGoDurationMs(text);
    if (ms !== undefined && ms >= 1) return ms;
    this.fail(key, `"${text}" is not a duration of 1ms or more (a Go duration: 500ms, 5s, 10m, 1h30m)`);
    return fallbackMs;
  }

  countOrZero(key: FlagKey, fallback: number): number {
    const text = this.text(key, String(fallback));
    const n = Number(text);
    if (/^\d+$/.test(text) && Number.isSafeInteger(n)) return n;
    this.fail(key, `"${text}" is not a whole number (0 or more)`);
    return fallback;
  }

  /** A whole number, negative allowed. */
  integer(key: FlagKey, fallback: number): number {
    const text = this.text(key, String(fallback));
    const n = Number(text);
    if (/^-?\d+$/.test(text) && Number.isSafeInteger(n)) return n;
    this.fail(key, `"${text}" is not a whole number`);
    return fallback;
  }

  count(key: FlagKey, fallback: number): number {
    const text = this.text(key, String(fallback));
    const n = Number(text);
    if (/^\d+$/.test(text) && Number.isSafeInteger(n) && n > 0) return n;
    this.fail(key, `"${text}" is not a whole number above 0`);
    return fallback;
  }

  urls(key: FlagKey, fallback: string, use: 'listen' | 'advertise'): ServeUrl[] {
    const r = parseUrlList(this.text(key, fallback));
    if (!r.ok) {
      this.fail(key, r.error);
      return [];
    }
    for (const u of r.value) {
      if (use === 'listen' && !isBindableHost(u.host)) {
        this.fail(key, `${u.url}: a listen URL binds a local address; give an IP (127.0.0.1, 0.0.0.0) or localhost`);
      }
      if (use === 'advertise' && isUnspecifiedHost(u.host)) {
        this.fail(key, `${u.url}: ${u.host} means "every interface" and cannot be dialled; advertise a reachable address`);
      }
    }
    return r.value;
  }
}

const urlSetKey = (l: readonly ServeUrl[]): string => l.map((u) => u.url).sort().join(',');

function sameUrls(a: readonly ServeUrl[], b: readonly ServeUrl[]): boolean {
  return urlSetKey(a) === urlSetKey(b);
}

/** The metrics port's default: loopback only (its pages are for operators on the host; DESIGN §10). */
export const METRICS_ADDR_DEFAULT = '127.0.0.1:2381';

/** See ServeConfig.metricsListeners. */
function readMetricsListeners(r: Reader, metricsAddr: HostPort): HostPort[] {
  if (!r.given('listenMetricsUrls')) return [metricsAddr];
  const out: HostPort[] = r.urls('listenMetricsUrls', '', 'listen').map((u) => ({ host: u.host, port: u.port }));
  if (r.given('metricsAddr') && !out.some((l) => l.host === metricsAddr.host && l.port === metricsAddr.port)) out.push(metricsAddr);
  return out.length > 0 ? out : [metricsAddr];
}

/** etcd's reading of --quota-backend-bytes: 0 is the default, a negative value turns the quota off. */
function quotaBytes(n: number): number {
  if (n === 0) return QUOTA_BACKEND_BYTES_DEFAULT;
  return n < 0 ? -1 : n;
}

function readName(r: Reader): string {
  const name = r.text('name', 'default');
  if (!NAME_RE.test(name) || name.length > NAME_CHARS_MAX) {
    r.fail('name', `"${name}" is not a member name: use up to ${NAME_CHARS_MAX} letters, digits, ".", "_" or "-"`);
  }
  return name;
}

function readPeers(r: Reader, name: string, listenPeerUrls: ServeUrl[]) {
  let initialCluster: InitialMember[] | undefined;
  if (r.given('initialCluster')) {
    const parsed = parseInitialCluster(r.text('initialCluster', ''));
    if (!parsed.ok) r.fail('initialCluster', parsed.error);
    else initialCluster = parsed.value;
  }
  const self = initialCluster?.find((m) => m.name === name);
  if (initialCluster !== undefined && self === undefined) {
    const names = initialCluster.map((m) => m.name).join(', ');
    r.fail('initialCluster', `has no member named "${name}" (it has ${names}); add ${name}=<its peer URL> or fix --name`);
  }
  let advertise: ServeUrl[];
  if (r.given('initialAdvertisePeerUrls')) {
    advertise = r.urls('initialAdvertisePeerUrls', '', 'advertise');
    if (self !== undefined && advertise.length > 0 && !sameUrls(advertise, self.peerUrls)) {
      r.fail('initialAdvertisePeerUrls', `${advertise.map((u) => u.url).join(',')} differs from ${name}'s URLs in ` +
        `--initial-cluster (${self.peerUrls.map((u) => u.url).join(',')}); they must be the same`);
    }
  } else {
    advertise = self?.peerUrls ?? listenPeerUrls;
    if (self === undefined) {
      for (const u of advertise.filter((x) => isUnspecifiedHost(x.host))) {
        r.fail('initialAdvertisePeerUrls', `is not given and the listen peer URL ${u.url} cannot be dialled; ` +
          'give --initial-advertise-peer-urls');
      }
    }
  }
  return { initialCluster, advertise };
}

/** Parses `serve`'s arguments (argv after the word "serve") and environment. */
export function parseServeFlags(argv: readonly string[], env: Env = {}): ServeFlagsResult {
  const scanned = scanArgv(argv);
  if (scanned.help) return { kind: 'help', text: serveHelp() };
  const r = new Reader(gather(scanned, env));
  const name = readName(r);
  const listenClientUrls = r.urls('listenClientUrls', 'http://localhost:2379', 'listen');
  const advertiseClientUrls = r.given('advertiseClientUrls')
    ? r.urls('advertiseClientUrls', '', 'advertise')
    : listenClientUrls;
  if (!r.given('advertiseClientUrls') && listenClientUrls.some((u) => isUnspecifiedHost(u.host))) {
    r.fail('advertiseClientUrls', 'is needed when --listen-client-urls listens on every interface; give reachable URLs');
  }
  const listenPeerUrls = r.urls('listenPeerUrls', 'http://localhost:2380', 'listen');
  const { initialCluster, advertise } = readPeers(r, name, listenPeerUrls);
  const metrics = parseHostPort(r.text('metricsAddr', METRICS_ADDR_DEFAULT));
  if (!metrics.ok) r.fail('metricsAddr', metrics.error);
  const metricsAddr = metrics.ok ? metrics.value : { host: '127.0.0.1', port: 0 };
  const metricsListeners = readMetricsListeners(r, metricsAddr);
  const heartbeatMs = r.ms('heartbeatMs', HEARTBEAT_MS_DEFAULT);
  const electionMs = r.ms('electionMs', ELECTION_MS_DEFAULT);
  if (heartbeatMs < HEARTBEAT_MS_MIN) r.fail('heartbeatMs', `${heartbeatMs} ms is below the minimum of ${HEARTBEAT_MS_MIN} ms`);
  if (electionMs < ELECTION_HEARTBEAT_RATIO_MIN * heartbeatMs) {
    r.fail('electionMs', `${electionMs} ms must be at least ${ELECTION_HEARTBEAT_RATIO_MIN} × the heartbeat ` +
      `(${heartbeatMs} ms), so one late heartbeat does not start an election`);
  }
  if (electionMs > ELECTION_MS_MAX) r.fail('electionMs', `${electionMs} ms is above the maximum of ${ELECTION_MS_MAX} ms`);
  const unsafeLocalReads = r.oneOf('unsafeLocalReads', ['true', 'false'], 'false') === 'true';
  const unsafeAckBeforeSync = r.oneOf('unsafeAckBeforeSync', ['true', 'false'], 'false') === 'true';
  const unsafeCrdtApplyDuplicates = r.oneOf('unsafeCrdtApplyDuplicates', ['true', 'false'], 'false') === 'true';
  const unsafeFlags = [
    ['unsafeLocalReads', unsafeLocalReads], ['unsafeAckBeforeSync', unsafeAckBeforeSync], ['unsafeCrdtApplyDuplicates', unsafeCrdtApplyDuplicates],
  ] as const;
  for (const [key, on] of unsafeFlags) {
    if (on && env[UNSAFE_ENV] !== '1') {
      r.fail(key, `breaks the store's guarantees and exists for testing only; set ${UNSAFE_ENV}=1 to allow it`);
    }
  }
  const peerDialMap: Record<string, string> = {};
  if (r.given('peerDialMap')) {
    const parsed = parseInitialCluster(r.text('peerDialMap', ''));
    if (!parsed.ok) r.fail('peerDialMap', parsed.error);
    else for (const m of parsed.value) peerDialMap[m.name] = m.peerUrls[0]!.url;
  }
  const authToken = parseAuthToken(r.text('authToken', 'simple'));
  if (typeof authToken === 'string') r.fail('authToken', authToken);
  const tlsWarnings: string[] = [];
  const tls = readTlsFlags(r, {
    listenClient: listenClientUrls, advertiseClient: advertiseClientUrls, listenPeer: listenPeerUrls, advertisePeer: advertise, initialCluster,
  }, tlsWarnings);
  const bcryptCost = r.count('bcryptCost', BCRYPT_COST_DEFAULT);
  if (bcryptCost < 4 || bcryptCost > 31) r.fail('bcryptCost', `${bcryptCost} is outside bcrypt's bounds 4..31`);
  const config: ServeConfig = {
    name,
    dataDir: r.text('dataDir', `${name}.regionstore`),
    listenClientUrls,
    advertiseClientUrls,
    listenPeerUrls,
    tls,
    initialAdvertisePeerUrls: advertise,
    initialCluster,
    initialClusterState: r.oneOf('initialClusterState', CLUSTER_STATES, 'new'),
    initialClusterToken: r.text('initialClusterToken', 'regionstore-cluster'),
    metricsAddr,
    metricsListeners,
    logLevel: r.oneOf('logLevel', LOG_LEVELS, 'info'),
    electionMs,
    heartbeatMs,
    snapshotCount: r.count('snapshotCount', SNAPSHOT_COUNT_DEFAULT),
    snapshotCatchupEntries: r.count('snapshotCatchupEntries', SNAPSHOT_CATCHUP_ENTRIES_DEFAULT),
    watchProgressNotifyMs: r.goDuration('watchProgressNotifyMs', WATCH_PROGRESS_NOTIFY_MS_DEFAULT),
    recordCacheBytes: r.countOrZero('recordCacheMb', RECORD_CACHE_MB_DEFAULT) * 1024 * 1024,
    quotaBackendBytes: quotaBytes(r.integer('quotaBackendBytes', 0)),
    namespacesFile: r.text('namespacesFile', ''),
    authToken: typeof authToken === 'string' ? { type: 'simple' } : authToken,
    authTokenTtlS: r.count('authTokenTtl', AUTH_TOKEN_TTL_S_DEFAULT),
    bcryptCost,
    unsafeLocalReads,
    unsafeAckBeforeSync,
    unsafeCrdtApplyDuplicates,
    peerDialMap,
    limits: readLimits(r),
    startupVerify: r.oneOf('startupVerify', STARTUP_VERIFY_CHOICES, 'auto'),
  };
  if (config.dataDir === '') r.fail('dataDir', 'is empty; give a directory');
  if (config.initialClusterToken === '') r.fail('initialClusterToken', 'is empty; give a token');
  const errors = [...scanned.errors, ...r.errors];
  if (errors.length > 0) return { kind: 'error', errors };
  return { kind: 'config', config, warnings: [...scanned.warnings, ...tlsWarnings, ...unknownEnvWarnings(env)] };
}


/** etcd's --auth-token: "simple", or "jwt,key=value,..." (etcd's decomposeOpts); a string is the error. */
export function parseAuthToken(text: string): ServeConfig['authToken'] | string {
  const [type, ...rest] = text.split(',');
  if (type === 'simple' && rest.length === 0) return { type: 'simple' };
  if (type !== 'jwt') return `"${type}" is not a token type: "simple" or "jwt,sign-method=...,priv-key=...,pub-key=...,ttl=..."`;
  const options: Record<string, string> = {};
  for (const kv of rest) {
    const eq = kv.indexOf('=');
    if (eq <= 0) return `JWT option ${JSON.stringify(kv)} is not key=value`;
    options[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { type: 'jwt', options };
}

export { parseGoDurationMs };
