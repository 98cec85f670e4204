// The flags of `regionstore serve`: one table drives parsing, the environment variable
// names and the --help text, so the three cannot drift apart. Names and defaults follow
// etcd's, so an etcd operator's habits (and scripts) carry over.

/** etcd's defaults: 100 ms heartbeat, 1000 ms election timeout. */
export const HEARTBEAT_MS_DEFAULT = 100;
export const ELECTION_MS_DEFAULT = 1_000;
/** Bounds as etcd checks them: election ≥ 5 heartbeats (so one lost heartbeat never
 * starts an election), election ≤ 50 s, heartbeat ≥ 10 ms (timer resolution). */
export const ELECTION_HEARTBEAT_RATIO_MIN = 5;
export const ELECTION_MS_MAX = 50_000;
export const HEARTBEAT_MS_MIN = 10;

/** Applied entries between two Raft snapshots (etcd's --snapshot-count). */
export const SNAPSHOT_COUNT_DEFAULT = 10_000;
/** Entries kept behind a snapshot so a slow follower catches up from the log (etcd 3.5's flag). */
export const SNAPSHOT_CATCHUP_ENTRIES_DEFAULT = 5_000;
/** etcd's default: watchers that asked for progress_notify hear of an idle revision every 10 minutes. */
export const WATCH_PROGRESS_NOTIFY_MS_DEFAULT = 10 * 60_000;
/** MiB of revision records kept in memory for reads (server/mvcc/record-cache.ts). */
export const RECORD_CACHE_MB_DEFAULT = 64;
/**
 * etcd's --quota-backend-bytes default, 2 GiB (server/region/quota.ts has the same default
 * for nodes started without a config). 0 means this default; a negative value, no quota.
 */
export const QUOTA_BACKEND_BYTES_DEFAULT = 2 * 1024 * 1024 * 1024;
/** etcd's --auth-token-ttl default: a simple token lives 300 s after its last use. */
export const AUTH_TOKEN_TTL_S_DEFAULT = 300;
/** etcd's --bcrypt-cost default (Go's bcrypt.DefaultCost). */
export const BCRYPT_COST_DEFAULT = 10;
// ---- limits of the client port (issue 16): etcd's flag names and defaults where etcd has them.
/** etcd's --max-request-bytes default: 1.5 MiB. */
export const MAX_REQUEST_BYTES_DEFAULT = 1.5 * 1024 * 1024;
/** etcd's --max-txn-ops default. */
export const MAX_TXN_OPS_DEFAULT = 128;
/** etcd's --max-concurrent-streams default (math.MaxUint32: no limit of its own). */
export const MAX_CONCURRENT_STREAMS_DEFAULT = 4_294_967_295;
export const MAX_WATCHERS_PER_STREAM_DEFAULT = 1024;
export const MAX_WATCHERS_PER_CONNECTION_DEFAULT = 8192;
/** Open client connections from one IP address (etcd has no such limit). */
export const MAX_CONNECTIONS_PER_ADDRESS_DEFAULT = 1000;
export const MAX_WATCH_PENDING_BYTES_DEFAULT = 64 * 1024 * 1024;
export const WATCH_STALL_MS_DEFAULT = 60_000;
/** etcd's --grpc-keepalive-min-time, -interval and -timeout defaults: 5 s, 2 h, 20 s. */
export const GRPC_KEEPALIVE_MIN_TIME_MS_DEFAULT = 5_000;
export const GRPC_KEEPALIVE_INTERVAL_MS_DEFAULT = 2 * 60 * 60_000;
export const GRPC_KEEPALIVE_TIMEOUT_MS_DEFAULT = 20_000;
/** A client connection must have sent its first request within this. */
export const CLIENT_HANDSHAKE_TIMEOUT_MS_DEFAULT = 10_000;
/** A client connection with no call in progress this long is sent GOAWAY (clients reconnect on their next call). */
export const CLIENT_IDLE_TIMEOUT_MS_DEFAULT = 60 * 60_000;

/** Unsafe testing flags are refused unless this variable is "1". */
export const UNSAFE_ENV = 'REGIONSTORE_UNSAFE';

export const ENV_PREFIX = 'REGIONSTORE_';
/**
 * REGIONSTORE_ variables a member reads that are not serve settings, so no "is not a serve
 * setting" warning is given for them: the unsafe-flag guard, the RocksDB tuning overrides for
 * measurements and the switches for its threads' priority (server/storage rocksdb-tuning.ts
 * ROCKSDB_TUNING_VAR, thread-priority.ts ROCKSDB_NICE_VAR and NODE_NICE_VAR; config may not
 * import storage, so the names are repeated here and a test keeps them equal).
 */
export const NON_SETTING_ENV: readonly string[] = [UNSAFE_ENV, 'REGIONSTORE_ROCKSDB_TUNING', 'REGIONSTORE_ROCKSDB_NICE', 'REGIONSTORE_NODE_NICE'];
export const ETCD_ENV_PREFIX = 'ETCD_';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const CLUSTER_STATES = ['new', 'existing'] as const;
export type ClusterState = (typeof CLUSTER_STATES)[number];

export type FlagKey =
  | 'listenMetricsUrls'
  | 'name' | 'dataDir' | 'listenClientUrls' | 'advertiseClientUrls' | 'listenPeerUrls'
  | 'initialAdvertisePeerUrls' | 'initialCluster' | 'initialClusterState' | 'initialClusterToken'
  // TLS (tls-flags.ts)
  | 'certFile' | 'keyFile' | 'trustedCaFile' | 'clientCertAuth' | 'autoTls'
  | 'peerCertFile' | 'peerKeyFile' | 'peerTrustedCaFile' | 'peerClientCertAuth' | 'peerAutoTls' | 'cipherSuites'
  | 'metricsAddr' | 'logLevel' | 'electionMs' | 'heartbeatMs' | 'snapshotCount' | 'snapshotCatchupEntries' | 'watchProgressNotifyMs' | 'recordCacheMb' | 'quotaBackendBytes'
  | 'authToken' | 'authTokenTtl' | 'bcryptCost' | 'startupVerify'
  | 'namespacesFile'
  | 'maxRequestBytes' | 'maxTxnOps' | 'maxConcurrentStreams' | 'maxWatchersPerStream' | 'maxWatchersPerConnection'
  | 'maxConnectionsPerAddress' | 'maxWatchPendingBytes' | 'watchStallTimeout' | 'grpcKeepaliveMinTime' | 'grpcKeepaliveInterval'
  | 'grpcKeepaliveTimeout' | 'clientHandshakeTimeout' | 'clientIdleTimeout'
  | 'unsafeLocalReads' | 'unsafeAckBeforeSync' | 'unsafeCrdtApplyDuplicates' | 'peerDialMap';

export interface FlagSpec {
  key: FlagKey;
  /** Without the dashes. */
  flag: string;
  /** Other accepted spellings (etcd's own names where ours differ). */
  aliases?: readonly string[];
  /** The etcd environment variable read when neither our flag nor our variable is set. */
  etcdEnv?: string;
  /** Shown in --help; `undefined` means "none" (the flag is optional without a default). */
  defaultText?: string;
  /** A Go-style bool flag: `--flag` alone means true (`--flag=false` to turn it off). */
  boolean?: true;
  help: string;
}

/** TLS, etcd's names (read by tls-flags.ts). */
const TLS_FLAGS: readonly FlagSpec[] = [
  { key: 'certFile', flag: 'cert-file', etcdEnv: 'ETCD_CERT_FILE', help: 'PEM certificate of the client port (https:// client URLs).' },
  { key: 'keyFile', flag: 'key-file', etcdEnv: 'ETCD_KEY_FILE', help: 'PEM key of --cert-file.' },
  {
    key: 'trustedCaFile', flag: 'trusted-ca-file', etcdEnv: 'ETCD_TRUSTED_CA_FILE',
    help: 'PEM CA bundle that signs client certificates (with --client-cert-auth).',
  },
  {
    key: 'clientCertAuth', flag: 'client-cert-auth', etcdEnv: 'ETCD_CLIENT_CERT_AUTH', defaultText: 'false', boolean: true,
    help: 'Refuse a client without a certificate the trusted CA signed. With auth enabled, a request\n' +
      'without a token is made as the user named by its certificate\'s CN, as etcd does.',
  },
  {
    key: 'autoTls', flag: 'auto-tls', etcdEnv: 'ETCD_AUTO_TLS', defaultText: 'false', boolean: true,
    help: 'Serve https:// client URLs with a self-signed certificate made in <data-dir>/fixtures/client\n(no --cert-file needed; clients are not verified).',
  },
  { key: 'peerCertFile', flag: 'peer-cert-file', etcdEnv: 'ETCD_PEER_CERT_FILE', help: 'PEM certificate of the peer port (https:// peer URLs), also presented when dialling peers.' },
  { key: 'peerKeyFile', flag: 'peer-key-file', etcdEnv: 'ETCD_PEER_KEY_FILE', help: 'PEM key of --peer-cert-file.' },
  {
    key: 'peerTrustedCaFile', flag: 'peer-trusted-ca-file', etcdEnv: 'ETCD_PEER_TRUSTED_CA_FILE',
    help: 'PEM CA bundle that signs peer certificates (verifies the peers this member dials, and with\n--peer-client-cert-auth those that dial it).',
  },
  {
    key: 'peerClientCertAuth', flag: 'peer-client-cert-auth', etcdEnv: 'ETCD_PEER_CLIENT_CERT_AUTH', defaultText: 'false', boolean: true,
    help: 'Refuse a peer without a certificate the peer trusted CA signed.',
  },
  {
    key: 'peerAutoTls', flag: 'peer-auto-tls', etcdEnv: 'ETCD_PEER_AUTO_TLS', defaultText: 'false', boolean: true,
    help: 'Serve https:// peer URLs with a self-signed certificate made in <data-dir>/fixtures/peer\n(peers are not verified).',
  },
  {
    key: 'cipherSuites', flag: 'cipher-suites', etcdEnv: 'ETCD_CIPHER_SUITES',
    help: 'Comma-separated TLS 1.2 cipher suites, Go\'s names as etcd takes them\n(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,...); TLS 1.3 suites stay on, as in etcd. Default: Node\'s.',
  },
];

export const FLAGS: readonly FlagSpec[] = [
  { key: 'name', flag: 'name', etcdEnv: 'ETCD_NAME', defaultText: 'default', help: 'Human-readable name of this member.' },
  {
    key: 'dataDir', flag: 'data-dir', etcdEnv: 'ETCD_DATA_DIR', defaultText: '${name}.regionstore',
    help: 'Directory of the raft/ and state/ databases.',
  },
  {
    key: 'listenClientUrls', flag: 'listen-client-urls', etcdEnv: 'ETCD_LISTEN_CLIENT_URLS',
    defaultText: 'http://localhost:2379', help: 'URLs to serve client gRPC on (an IP or localhost; 0.0.0.0 for all).',
  },
  {
    key: 'advertiseClientUrls', flag: 'advertise-client-urls', etcdEnv: 'ETCD_ADVERTISE_CLIENT_URLS',
    defaultText: 'the listen client URLs', help: 'Client URLs told to the cluster and to clients.',
  },
  {
    key: 'listenPeerUrls', flag: 'listen-peer-urls', etcdEnv: 'ETCD_LISTEN_PEER_URLS',
    defaultText: 'http://localhost:2380', help: 'URLs to serve peer (Raft) traffic on.',
  },
  {
    key: 'initialAdvertisePeerUrls', flag: 'initial-advertise-peer-urls', etcdEnv: 'ETCD_INITIAL_ADVERTISE_PEER_URLS',
    defaultText: "this member's URLs in --initial-cluster, else the listen peer URLs",
    help: 'Peer URLs of this member, told to the rest of the cluster.',
  },
  {
    key: 'initialCluster', flag: 'initial-cluster', etcdEnv: 'ETCD_INITIAL_CLUSTER',
    help: 'Founding members, name=http://host:port,... Only read when the data dir is new;\n' +
      'without it a new data dir starts a one-member cluster of this node (as etcd does).',
  },
  {
    key: 'initialClusterState', flag: 'initial-cluster-state', etcdEnv: 'ETCD_INITIAL_CLUSTER_STATE', defaultText: 'new',
    help: '"new" to found a cluster, "existing" to join one (after MemberAdd).',
  },
  {
    key: 'initialClusterToken', flag: 'initial-cluster-token', etcdEnv: 'ETCD_INITIAL_CLUSTER_TOKEN',
    defaultText: 'regionstore-cluster', help: 'Distinguishes clusters founded with the same members (seeds the ids).',
  },
  {
    key: 'metricsAddr', flag: 'metrics-addr', defaultText: '127.0.0.1:2381',
    help: 'host:port of /metrics, /health and the dashboard page (port 0: OS-chosen).',
  },
  {
    key: 'listenMetricsUrls', flag: 'listen-metrics-urls', etcdEnv: 'ETCD_LISTEN_METRICS_URLS',
    help: 'http:// URLs (comma-separated) to serve /metrics, /health and the dashboard on, as etcd\'s flag; given alone\n' +
      'they replace the --metrics-addr default (so the port binds 127.0.0.1 unless a URL says otherwise), with it both are served.',
  },
  { key: 'logLevel', flag: 'log-level', etcdEnv: 'ETCD_LOG_LEVEL', defaultText: 'info', help: LOG_LEVELS.join(' | ') },
  {
    key: 'electionMs', flag: 'election-ms', aliases: ['election-timeout'], etcdEnv: 'ETCD_ELECTION_TIMEOUT',
    defaultText: String(ELECTION_MS_DEFAULT), help: `Election timeout in ms (at least ${ELECTION_HEARTBEAT_RATIO_MIN} heartbeats).`,
  },
  {
    key: 'heartbeatMs', flag: 'heartbeat-ms', aliases: ['heartbeat-interval'], etcdEnv: 'ETCD_HEARTBEAT_INTERVAL',
    defaultText: String(HEARTBEAT_MS_DEFAULT), help: 'Heartbeat interval in ms.',
  },
  {
    key: 'snapshotCount', flag: 'snapshot-count', etcdEnv: 'ETCD_SNAPSHOT_COUNT',
    defaultText: String(SNAPSHOT_COUNT_DEFAULT), help: 'Applied entries between two snapshots (the log is compacted behind each).',
  },
  {
    key: 'snapshotCatchupEntries', flag: 'snapshot-catchup-entries', aliases: ['experimental-snapshot-catchup-entries'],
    defaultText: String(SNAPSHOT_CATCHUP_ENTRIES_DEFAULT),
    help: 'Entries kept in the log behind a snapshot, so a slightly slow follower needs no snapshot.',
  },
  {
    key: 'watchProgressNotifyMs', flag: 'experimental-watch-progress-notify-interval',
    etcdEnv: 'ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL', defaultText: '10m',
    help: 'How often a watcher created with progress_notify and idle hears the current revision (a Go\n' +
      'duration as etcd takes it: 500ms, 5s, 10m, 1h30m).',
  },
  {
    key: 'recordCacheMb', flag: 'record-cache-mb', defaultText: String(RECORD_CACHE_MB_DEFAULT),
    help: 'MiB of recently written and read key revisions kept in memory, so reads of hot keys skip the\n' +
      'disk (0: off). Counted in regionstore_mvcc_record_cache_lookups_total{result="hit"|"miss"}.',
  },
  {
    key: 'quotaBackendBytes', flag: 'quota-backend-bytes', etcdEnv: 'ETCD_QUOTA_BACKEND_BYTES',
    defaultText: `${QUOTA_BACKEND_BYTES_DEFAULT} (2 GiB)`,
    help: 'Size of the state database past which writes fail with "database space exceeded" and a NOSPACE\n' +
      'alarm is raised (etcdctl alarm list / disarm), as etcd does. 0: the default; negative: no quota.',
  },
  {
    key: 'namespacesFile', flag: 'namespaces-file',
    help: 'A JSON file of namespaces to create at start if missing: {"namespaces": [{"name": "carts", "prefix":\n' +
      '"carts/", "level": "eventual", "crdtType": "mv"}, ...]} (fields as rsctl ns create). The leader creates the\n' +
      'missing ones; existing ones are left as they are (idempotent; a difference in prefix, level or type is logged).',
  },
  {
    key: 'authToken', flag: 'auth-token', etcdEnv: 'ETCD_AUTH_TOKEN', defaultText: 'simple',
    help: 'Token type of the Auth API, as etcd: "simple" (opaque tokens each member keeps in memory), or\n' +
      '"jwt,sign-method=RS256,priv-key=FILE,pub-key=FILE,ttl=5m" (signed tokens any member with the key accepts;\n' +
      'RS/PS/ES/HS 256/384/512; a member with only pub-key verifies but cannot issue).',
  },
  {
    key: 'authTokenTtl', flag: 'auth-token-ttl', etcdEnv: 'ETCD_AUTH_TOKEN_TTL', defaultText: String(AUTH_TOKEN_TTL_S_DEFAULT),
    help: 'Seconds a simple token lives after its last use.',
  },
  {
    key: 'bcryptCost', flag: 'bcrypt-cost', etcdEnv: 'ETCD_BCRYPT_COST', defaultText: String(BCRYPT_COST_DEFAULT),
    help: 'bcrypt cost of stored password hashes (4..31; etcd\'s default 10).',
  },
  // ---- limits of the client port (issue 16)
  {
    key: 'maxRequestBytes', flag: 'max-request-bytes', etcdEnv: 'ETCD_MAX_REQUEST_BYTES', defaultText: `${MAX_REQUEST_BYTES_DEFAULT} (1.5 MiB)`,
    help: 'Largest request the client port accepts (and largest key or value); a larger one fails with\n' +
      '"etcdserver: request is too large", as etcd. gRPC refuses frames 512 KiB above it before decoding.',
  },
  {
    key: 'maxTxnOps', flag: 'max-txn-ops', etcdEnv: 'ETCD_MAX_TXN_OPS', defaultText: String(MAX_TXN_OPS_DEFAULT),
    help: 'Most compares, and ops of each branch, in one Txn ("etcdserver: too many operations in txn request").',
  },
  {
    key: 'maxConcurrentStreams', flag: 'max-concurrent-streams', etcdEnv: 'ETCD_MAX_CONCURRENT_STREAMS',
    defaultText: `${MAX_CONCURRENT_STREAMS_DEFAULT} (etcd's: no limit)`,
    help: 'Calls one client connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS);\n' +
      'a client past it waits for a free stream or opens another connection.',
  },
  {
    key: 'maxWatchersPerStream', flag: 'max-watchers-per-stream', defaultText: String(MAX_WATCHERS_PER_STREAM_DEFAULT),
    help: 'Watchers one Watch stream may hold; a create past it is answered created + canceled with the reason.',
  },
  {
    key: 'maxWatchersPerConnection', flag: 'max-watchers-per-connection', defaultText: String(MAX_WATCHERS_PER_CONNECTION_DEFAULT),
    help: 'Watchers all Watch streams of one client connection may hold (refused as above).',
  },
  {
    key: 'maxConnectionsPerAddress', flag: 'max-connections-per-address', defaultText: String(MAX_CONNECTIONS_PER_ADDRESS_DEFAULT),
    help: 'Open client-port connections from one IP address; one more is answered GOAWAY ENHANCE_YOUR_CALM\n' +
      '(HTTP/1.1: 429) naming this flag, and closed.',
  },
  {
    key: 'maxWatchPendingBytes', flag: 'max-watch-pending-bytes', defaultText: `${MAX_WATCH_PENDING_BYTES_DEFAULT} (64 MiB)`,
    help: 'Bytes of watch responses one Watch stream may hold in this member that its client has not read;\n' +
      'past it the stream\'s watchers are canceled (RESOURCE_EXHAUSTED, naming this flag).',
  },
  {
    key: 'watchStallTimeout', flag: 'watch-stall-timeout', defaultText: '1m',
    help: 'How long a Watch stream may hold responses its client reads none of before its watchers are\n' +
      'canceled the same way (a Go duration).',
  },
  {
    key: 'grpcKeepaliveMinTime', flag: 'grpc-keepalive-min-time', etcdEnv: 'ETCD_GRPC_KEEPALIVE_MIN_TIME', defaultText: '5s',
    help: 'Least time between a client\'s keepalive pings; a client pinging more often (3 strikes) is sent\n' +
      'GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and closed, as etcd (gRPC\'s enforcement policy).',
  },
  {
    key: 'grpcKeepaliveInterval', flag: 'grpc-keepalive-interval', etcdEnv: 'ETCD_GRPC_KEEPALIVE_INTERVAL', defaultText: '2h',
    help: 'How often the server pings an idle client connection to see that it is alive.',
  },
  {
    key: 'grpcKeepaliveTimeout', flag: 'grpc-keepalive-timeout', etcdEnv: 'ETCD_GRPC_KEEPALIVE_TIMEOUT', defaultText: '20s',
    help: 'How long the server waits for the answer to its ping before closing the connection.',
  },
  {
    key: 'clientHandshakeTimeout', flag: 'client-handshake-timeout', defaultText: '10s',
    help: 'A client connection that has not sent a complete first request (HTTP/2 preface and header block,\n' +
      'or an HTTP/1.1 request line) within this is closed: a client that connects and sends nothing or half\n' +
      'a preface cannot hold the port.',
  },
  {
    key: 'clientIdleTimeout', flag: 'client-idle-timeout', defaultText: '1h',
    help: 'A gRPC connection with no call open this long is sent GOAWAY (clients reconnect at their next call).',
  },
  {
    key: 'startupVerify', flag: 'startup-verify', defaultText: 'auto',
    help: 'When the raft and state databases are read whole (with checksums, in a child process) before use:\n' +
      '"auto" unless they are byte for byte as this member sealed them at its last clean stop (an unclean\n' +
      'stop or a changed file means a full read); "always"; "never".',
  },
  {
    key: 'peerDialMap', flag: 'peer-dial-map',
    help: 'name=http://host:port,... : dial these addresses for these members instead of their advertised\n' +
      'peer URLs (a NAT or a proxy in between; the chaos harness puts its fault-injecting proxies here).',
  },
  {
    key: 'unsafeLocalReads', flag: 'unsafe-local-reads', defaultText: 'false',
    help: `FOR TESTING ONLY (refused unless ${UNSAFE_ENV}=1): serve linearizable reads locally, without ReadIndex.`,
  },
  {
    key: 'unsafeAckBeforeSync', flag: 'unsafe-ack-before-sync', defaultText: 'false',
    help: `FOR TESTING ONLY (refused unless ${UNSAFE_ENV}=1): acknowledge writes before the Raft log is synced.`,
  },
  {
    key: 'unsafeCrdtApplyDuplicates', flag: 'unsafe-crdt-apply-duplicates', defaultText: 'false',
    help: `FOR TESTING ONLY (refused unless ${UNSAFE_ENV}=1): a CRDT write re-sent with the same identity applies again (the chaos crdt workload's teeth).`,
  },
  ...TLS_FLAGS,
];

/** REGIONSTORE_DATA_DIR for data-dir, and so on. */
export function envName(spec: FlagSpec): string {
  return ENV_PREFIX + spec.flag.toUpperCase().replaceAll('-', '_');
}

export function serveHelp(): string {
  const lines = [
    'Usage: regionstore serve [flags]',
    '',
    'Runs one member of a region cluster. Every flag can also be set by an environment',
    'variable (REGIONSTORE_ + the flag name in capitals, dashes as underscores), and etcd\'s',
    'ETCD_* variable is read when ours is unset. A flag wins over a variable. Flags take',
    '--flag value or --flag=value; a single dash works too, as with etcd.',
    '',
    'On restart with an existing data dir the --initial-* flags may be left out: the stored',
    'membership is used and they are ignored.',
    '',
  ];
  for (const spec of FLAGS) {
    const names = [spec.flag, ...(spec.aliases ?? [])].map((f) => '--' + f).join(', ');
    lines.push(`  ${names}`);
    for (const h of spec.help.split('\n')) lines.push(`      ${h}`);
    const env = [envName(spec), ...(spec.etcdEnv === undefined ? [] : [spec.etcdEnv])].join(', ');
    lines.push(`      env: ${env}${spec.defaultText === undefined ? '' : `; default: ${spec.defaultText}`}`);
  }
  lines.push('  -h, --help', '      Show this text.', '');
  return lines.join('\n');
}
