#!/usr/bin/env -S node --max-semi-space-size=32 --min-semi-space-size=32
// The composition root: `regionstore serve [flags]`. Parses flags (server/config), opens
// the region node (server/region), serves the etcd v3 API (server/api) and metrics
// (server/metrics), and stops cleanly on SIGTERM/SIGINT.
// The shebang's V8 flag is server/util/heap-flags.ts's SEMI_SPACE_MB (a test checks they agree).

import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { loadApiDefinitions, startApiServer, warmHotCodecs } from './api/index.js';
import { Http1Router, addEtcdHttpRoutes } from './api/http1.js';
import { addJsonGateway } from './api/gateway/index.js';
import { fixedLimitsHelp } from './api/fixed-limits.js';
import { addedMemberIdFor, clusterIdForToken, memberIdFor } from './config/member-id.js';
import { initialMembers, parseServeFlags, type ServeConfig } from './config/serve-flags.js';
import { resolveServeTls } from './config/tls-resolve.js';
import { setMemberClientTls, tlsChannelCredentials } from './util/tls-client.js';
import { loadTlsFiles, type TlsListenerEvents } from './util/tls-server.js';
import { createNodeMetrics } from './metrics/node-metrics.js';
import { registerLimitMetrics } from './metrics/limit-metrics.js';
import { registerTlsMetrics, type TlsMetrics, type TlsPort } from './metrics/tls-metrics.js';
import { registerEdgeMetrics } from './edge/metrics.js';
import { defaultHealth, healthWithAlarms, healthWithStorage, runHealth, startMetricsServer } from './metrics/http-server.js';
import { createDashboardFeed } from './metrics/dashboard-feed.js';
import { PeerStatusCache } from './metrics/dashboard-peers.js';
import { RegionDashboardSource } from './region/dashboard-source.js';
import { AlarmType } from './mvcc/index.js';
import { RegionBackend } from './region/region-backend.js';
import { DeclaredNamespaces, NAMESPACES_FILE_BYTES_MAX, parseNamespacesFile } from './region/declared-namespaces.js';
import type { NamespaceSpec } from './namespace/index.js';
import { JwtTokens, loadJwtConfig } from './region/jwt-tokens.js';
import { RegionNode, type InitialMember } from './region/region-node.js';
import { closeForwardClients, loadLeaseForwardDefinition } from './region/leader-forward.js';
import { snapshotCommand } from './region/restore-command.js';
import { memberCommand } from './region/reseed-command.js';
import { parseEdgeFlags } from './config/edge-flags.js';
import { EdgeNode } from './edge/edge-node.js';
import { edgeSessionRunner } from './edge/session.js';
import { systemClock } from './util/system-clock.js';
import { NODE_NICE_VAR, ROCKSDB_BINDING, ROCKSDB_NICE_VAR, describeRocksdbBinding, keepBackgroundThreadsLow, reniceGroupsFromEnv } from './storage/index.js';
import type { Logger } from './util/logger.js';
import { ETCD_API_VERSION, packageVersion } from './util/version.js';
import { SEMI_SPACE_MB, semiSpaceFlag } from './util/heap-flags.js';
import { applyHeapGrowth } from './util/heap-growth.js';
import { collectStartupGarbage } from './util/startup-gc.js';

/** etcd's alarm names, as /health reports them ("ALARM NOSPACE"). */
const ALARM_NAMES: Record<number, string> = { [AlarmType.NOSPACE]: 'NOSPACE', [AlarmType.CORRUPT]: 'CORRUPT' };

/** The identity a data directory was created with; a restart reuses it and ignores --initial-*. */
interface MemberIdentity {
  name: string;
  memberId: number;
  clusterId: number;
}
const IDENTITY_FILE = 'member.json';

async function loadOrCreateIdentity(cfg: ServeConfig, logger: Logger): Promise<{ identity: MemberIdentity; fresh: boolean }> {
  const file = join(cfg.dataDir, IDENTITY_FILE);
  if (existsSync(file)) {
    const identity = JSON.parse(await readFile(file, 'utf8')) as MemberIdentity;
    if (identity.name !== cfg.name) logger.warn('--name differs from the data dir; using the stored identity', { stored: identity.name });
    return { identity, fresh: false };
  }
  const peerUrls = cfg.initialAdvertisePeerUrls.map((u) => u.url);
  const memberId = cfg.initialClusterState === 'existing'
    ? addedMemberIdFor(cfg.initialClusterToken, peerUrls)
    : memberIdFor(cfg.name, cfg.initialClusterToken, peerUrls);
  const identity = { name: cfg.name, memberId, clusterId: clusterIdForToken(cfg.initialClusterToken) };
  await mkdir(cfg.dataDir, { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(identity));
  await rename(`${file}.tmp`, file);
  return { identity, fresh: true };
}

/** 127.0.0.0/8, ::1 and localhost: a listener there is reachable from this host only. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The metrics port has no authentication: say so when it listens where others can reach it. */
function warnBeyondLoopback(listeners: ReadonlyArray<{ host: string; port: number }>, logger: Logger): void {
  for (const l of listeners.filter((x) => !isLoopbackHost(x.host))) {
    logger.warn('the metrics port listens beyond loopback: anyone who reaches it sees the metrics and the dashboard (metadata, no values)', { host: l.host, port: l.port });
  }
}

function pinoLogger(level: string, name: string): Logger {
  const p = pino({ level, base: { member: name } });
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
  };
}

async function serve(argv: string[]): Promise<void> {
  const parsed = parseServeFlags(argv, process.env);
  if (parsed.kind === 'help') {
    console.log(parsed.text + '\n' + fixedLimitsHelp());
    return;
  }
  if (parsed.kind === 'error') {
    for (const e of parsed.errors) console.error(`regionstore serve: ${e}`);
    process.exitCode = 2;
    return;
  }
  const cfg = parsed.config;
  let jwt: JwtTokens | undefined;
  try {
    jwt = cfg.authToken.type === 'jwt' ? new JwtTokens(loadJwtConfig(cfg.authToken.options)) : undefined;
  } catch (err) {
    console.error(`regionstore serve: --auth-token: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }
  let declared: NamespaceSpec[] = [];
  if (cfg.namespacesFile !== '') {
    // Read and checked before anything starts: a bad file stops the member with every problem listed.
    try {
      const text = await readFile(cfg.namespacesFile, 'utf8');
      if (Buffer.byteLength(text) > NAMESPACES_FILE_BYTES_MAX) throw new Error(`${cfg.namespacesFile}: larger than ${NAMESPACES_FILE_BYTES_MAX} bytes`);
      declared = parseNamespacesFile(text, cfg.namespacesFile);
    } catch (err) {
      for (const line of (err as Error).message.split('\n')) console.error(`regionstore serve: --namespaces-file: ${line}`);
      process.exitCode = 2;
      return;
    }
  }
  const logger = pinoLogger(cfg.logLevel, cfg.name);
  for (const w of parsed.warnings) logger.warn(w);
  logRocksdbBinding(logger);
  if (jwt !== undefined && jwt.config.unknownOptions.length > 0) logger.warn('unknown JWT options', { keys: jwt.config.unknownOptions });
  const { identity } = await loadOrCreateIdentity(cfg, logger);
  let tls: Awaited<ReturnType<typeof resolveServeTls>>;
  try {
    tls = await resolveServeTls(cfg.tls, cfg.dataDir, { client: cfg.listenClientUrls, peer: cfg.listenPeerUrls });
    // Load every file now: a bad certificate stops the start with its name, before Raft opens.
    if (tls.client !== undefined) loadTlsFiles(tls.client.server);
    if (tls.peer !== undefined) loadTlsFiles(tls.peer.server);
  } catch (err) {
    console.error(`regionstore serve: TLS: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }
  setMemberClientTls(tls.client?.dial);
  let tlsMetrics: TlsMetrics | undefined;
  const tlsEvents = (port: TlsPort): TlsListenerEvents => ({
    onReload: () => {
      tlsMetrics?.reload(port, true);
      logger.info('TLS certificate files reloaded', { port });
    },
    onReloadError: (err) => {
      tlsMetrics?.reload(port, false);
      logger.warn('TLS certificate files changed but do not load; the previous ones stay in use', { port, error: err.message });
    },
    onHandshakeError: (err) => {
      tlsMetrics?.handshakeFailure(port);
      logger.debug('TLS handshake refused', { port, error: err.message });
    },
  });
  const token = cfg.initialClusterToken;
  // A founder derives every founder's id from the flags. A joiner uses these entries only
  // as addresses to ask for the real member list (server/region/join.ts).
  const members: InitialMember[] = initialMembers(cfg).map((m) => {
    const peerUrls = m.peerUrls.map((u) => u.url);
    const id = m.name === cfg.name ? identity.memberId : memberIdFor(m.name, token, peerUrls);
    return { id, name: m.name, peerUrls };
  });

  // Before Raft runs: parsed later, the .proto files held a running member's loop ~100 ms.
  loadApiDefinitions();
  loadLeaseForwardDefinition();
  // The hot calls' message codecs generated now, not in the first calls (api/codec-warmup.ts).
  warmHotCodecs();
  // The old generation's growing factor fixed (heap-growth.ts), before the start-up GC sets the first limit with it.
  applyHeapGrowth();
  // Still before Raft: the start-up's garbage collected now, not by the first requests (startup-gc.ts).
  const startupGc = collectStartupGarbage();
  const { registry, metrics, snapshot, startEventLoopDelay } = createNodeMetrics({ name: cfg.name, eventLoopDelay: 'from-start', quotaBackendBytes: cfg.quotaBackendBytes });
  const node = await RegionNode.open({
    name: cfg.name,
    memberId: identity.memberId,
    clusterId: identity.clusterId,
    dataDir: cfg.dataDir,
    peerListen: `${cfg.listenPeerUrls[0]!.host}:${cfg.listenPeerUrls[0]!.port}`,
    peerUrls: cfg.initialAdvertisePeerUrls.map((u) => u.url),
    clientUrls: cfg.advertiseClientUrls.map((u) => u.url),
    initialMembers: members,
    idForNewMember: (peerUrls) => addedMemberIdFor(token, peerUrls),
    peerDialMap: cfg.peerDialMap,
    ...(tls.peer !== undefined ? { peerTls: { server: tls.peer.server, dial: tls.peer.dial, events: tlsEvents('peer') } } : {}),
    joinExisting: cfg.initialClusterState === 'existing',
    tickMs: cfg.heartbeatMs,
    electionTicks: Math.max(2, Math.round(cfg.electionMs / cfg.heartbeatMs)),
    heartbeatTicks: 1,
    logger,
    metrics,
    limits: { snapshotEveryEntries: cfg.snapshotCount, keepEntriesAfterCompaction: cfg.snapshotCatchupEntries, recordCacheBytes: cfg.recordCacheBytes, quotaBackendBytes: cfg.quotaBackendBytes },
    unsafe: { localReads: cfg.unsafeLocalReads, ackBeforeSync: cfg.unsafeAckBeforeSync, crdtApplyDuplicates: cfg.unsafeCrdtApplyDuplicates },
    clusterToken: token,
    authTokenTtlMs: cfg.authTokenTtlS * 1000,
    startupVerify: cfg.startupVerify,
  });
  // Raft ticks from here on (RegionNode.open started it): the loop's delay is measured from
  // now, not over the start-up before it (event-loop-delay.ts says why).
  startEventLoopDelay();
  // RocksDB's flush and compaction threads (started by the opens above) and V8's workers
  // behind the main thread for a core (storage/thread-priority.ts);
  // REGIONSTORE_ROCKSDB_NICE=off and REGIONSTORE_NODE_NICE=off leave them.
  const groups = reniceGroupsFromEnv();
  const reniced = groups.rocksdb || groups.node ? keepBackgroundThreadsLow(groups) : undefined;
  logger.info('background threads', {
    reniced: reniced === undefined ? 'none' : reniced.first.map((t) => `${t.comm}:${t.nice}`).join(' '),
    ...(groups.rocksdb ? {} : { rocksdb: `off (${ROCKSDB_NICE_VAR}=off)` }),
    ...(groups.node ? {} : { node: `off (${NODE_NICE_VAR}=off)` }),
  });
  if (cfg.unsafeLocalReads || cfg.unsafeAckBeforeSync || cfg.unsafeCrdtApplyDuplicates) {
    logger.warn('UNSAFE testing flags are on: this member may serve stale reads, lose acknowledged writes or apply retried CRDT writes twice',
      { unsafeLocalReads: cfg.unsafeLocalReads, unsafeAckBeforeSync: cfg.unsafeAckBeforeSync, unsafeCrdtApplyDuplicates: cfg.unsafeCrdtApplyDuplicates });
  }
  const backend = new RegionBackend(node, { bcryptCost: cfg.bcryptCost, ...(jwt === undefined ? {} : { jwt }) });
  const declaredNamespaces = declared.length === 0 ? undefined : new DeclaredNamespaces(declared, {
    get isLeader() { return node.isLeader; },
    get: (name) => node.namespaces.get(name),
    create: (spec) => backend.namespaceOps.create(spec),
  }, logger);
  // The client port also answers HTTP/1.1 as etcd's does (etcdctl check datascale reads /metrics there).
  const health = healthWithStorage(() => node.storageProblem(),
    healthWithAlarms(() => node.mvcc.alarms().map((a) => ALARM_NAMES[a.alarm] ?? 'UNKNOWN'), defaultHealth(snapshot)));
  const http1 = addEtcdHttpRoutes(new Http1Router(), { registry, health });
  if (tls.client !== undefined || tls.peer !== undefined) tlsMetrics = registerTlsMetrics(registry);
  // etcd's JSON gateway under /v3/: each call is a gRPC call to the port it came in on.
  const gateway = addJsonGateway(http1);
  const limitMetrics = registerLimitMetrics(registry);
  const { limits: lim } = cfg;
  const apis = await Promise.all(
    cfg.listenClientUrls.map((u) =>
      startApiServer(backend, { host: u.host, port: u.port }, {
        onCall: (e) => metrics.grpcRequest(e.name, e.code, e.durationSeconds),
        http1,
        onProtocolError: (err) => logger.debug('client connection closed: HTTP/2 protocol error', { error: err.message }),
        limits: {
          requestBytesMax: lim.requestBytesMax, txnOpsMax: lim.txnOpsMax, watchersPerStreamMax: lim.watchersPerStreamMax,
          watchersPerConnectionMax: lim.watchersPerConnectionMax, watchPendingBytesMax: lim.watchPendingBytesMax, watchStallMs: lim.watchStallMs,
        },
        connection: {
          concurrentStreamsMax: lim.concurrentStreamsMax, keepaliveMinTimeMs: lim.keepaliveMinTimeMs, keepaliveIntervalMs: lim.keepaliveIntervalMs,
          keepaliveTimeoutMs: lim.keepaliveTimeoutMs, handshakeTimeoutMs: lim.handshakeTimeoutMs, idleTimeoutMs: lim.idleTimeoutMs,
          connectionsPerAddressMax: lim.connectionsPerAddressMax,
        },
        onLimit: (limit, detail) => {
          limitMetrics.refused(limit);
          // Refused connections can come by the thousand: those at debug, the rest (rare, a client to fix) at warn.
          const log = limit === 'handshake' || limit === 'connections-per-address' ? logger.debug : logger.warn;
          log('client refused by a limit', { limit, detail });
        },
        ...(tls.client !== undefined ? { tls: { files: tls.client.server, events: tlsEvents('client') } } : {}),
      }),
    ),
  );
  const dashboardSource = new RegionDashboardSource({ node, edges: backend.edgeHost, health: () => runHealth(health), peers: new PeerStatusCache() });
  const dashboard = createDashboardFeed(registry, () => dashboardSource.gather());
  const metricsServers = await Promise.all(cfg.metricsListeners.map((l) => startMetricsServer({
    registry,
    snapshot,
    health,
    host: l.host,
    port: l.port,
    status: () => ({ memberId: identity.memberId.toString(16), leader: node.leaderId.toString(16), applied: node.appliedIndex }),
    dashboard: () => dashboard.data(),
  })));
  warnBeyondLoopback(cfg.metricsListeners, logger);
  const keyGauge = setInterval(() => {
    metrics.keys(node.mvcc.keyCount);
    metrics.recordCache(node.mvcc.recordCacheStats);
    void node.dbSize().then((b) => metrics.dbSize(b), () => undefined);
  }, 5_000);
  const progressNotify = setInterval(() => node.mvcc.watchHub.progressNotifyAll(), cfg.watchProgressNotifyMs);
  logger.info('regionstore serving', {
    memberId: identity.memberId.toString(16),
    clusterId: identity.clusterId.toString(16),
    clientUrls: cfg.advertiseClientUrls.map((u) => u.url),
    peerPort: node.peerPort,
    metrics: metricsServers.map((m) => m.url).join(','),
    // Started as `node dist/server/main.js` without the bin's flag, the young generation is
    // V8's default and a put load promotes more garbage (heap-flags.ts): say so.
    v8SemiSpace: semiSpaceFlag() ?? `V8 default (run node with --max-semi-space-size=${SEMI_SPACE_MB})`,
    startupGcMs: Math.round(startupGc.ms),
    startupHeapMiB: `${(startupGc.usedBefore / 2 ** 20).toFixed(1)} -> ${(startupGc.usedAfter / 2 ** 20).toFixed(1)}`,
  });

  let stopping = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { reason });
    clearInterval(keyGauge);
    clearInterval(progressNotify);
    reniced?.stop();
    declaredNamespaces?.close();
    gateway.close();
    await Promise.all(apis.map((a) => a.close(500)));
    closeForwardClients();
    await node.close();
    dashboard.close();
    await Promise.all(metricsServers.map((m) => m.close()));
    // Non-zero after a failure (storage corruption among them), so a supervisor restarts it.
    process.exit(reason.startsWith('fatal') ? 1 : 0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  node.onStop((reason) => void stop(reason));
}

/** `regionstore edge`: an edge replica (server/edge) serving the client API on its own port. */
async function edge(argv: string[]): Promise<void> {
  const parsed = parseEdgeFlags(argv, process.env);
  if (parsed.kind === 'help') {
    console.log(parsed.text);
    return;
  }
  if (parsed.kind === 'error') {
    for (const e of parsed.errors) console.error(`regionstore edge: ${e}`);
    process.exitCode = 2;
    return;
  }
  const cfg = parsed.config;
  const logger = pinoLogger(cfg.logLevel, `edge:${cfg.name}`);
  for (const w of parsed.warnings) logger.warn(w);
  logRocksdbBinding(logger);
  if (cfg.unsafeClockOffsetMs !== 0) logger.warn('UNSAFE testing flag: the edge clock is offset', { offsetMs: cfg.unsafeClockOffsetMs });
  if (cfg.unsafeRecordDurablePoints) logger.warn('UNSAFE testing flag: recording durable points of the local database (power-cut emulation)');
  const { registry, metrics, snapshot } = createNodeMetrics({ name: cfg.name, eventLoopDelay: true });
  const t = cfg.tls;
  const regionTls = t.region || t.certFile !== undefined
    ? { ...(t.trustedCaFile !== undefined ? { caFile: t.trustedCaFile } : {}), ...(t.certFile !== undefined ? { certFile: t.certFile, keyFile: t.keyFile! } : {}) }
    : undefined;
  let regionCredentials: (() => ReturnType<typeof tlsChannelCredentials>) | undefined;
  try {
    if (regionTls !== undefined) tlsChannelCredentials(regionTls); // a bad file stops the start, named
    if (regionTls !== undefined) regionCredentials = () => tlsChannelCredentials(regionTls);
    if (t.certFile !== undefined && cfg.listenClientUrls.some((u) => u.scheme === 'https')) {
      loadTlsFiles({ certFile: t.certFile, keyFile: t.keyFile!, clientCertAuth: false });
    }
  } catch (err) {
    console.error(`regionstore edge: TLS: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const node = await EdgeNode.open({
    name: cfg.name, group: cfg.group, dataDir: cfg.dataDir, region: cfg.region, namespaces: cfg.namespaces, clockOffsetMs: cfg.unsafeClockOffsetMs,
    recordDurablePoints: cfg.unsafeRecordDurablePoints,
    clock: systemClock, logger, onApplied: (ns, type, n) => metrics.crdtOpsApplied(ns, type, n),
    session: (n) => edgeSessionRunner(n, systemClock, logger, regionCredentials),
    ...(regionCredentials !== undefined ? { regionCredentials } : {}),
  });
  const edgeMetrics = registerEdgeMetrics(registry, node, metrics.sync);
  // Bad bytes found while running: /health says so until the process is gone.
  const edgeHealth = healthWithStorage(() => node.storageProblem(), () => ({ healthy: true }));
  const http1 = addEtcdHttpRoutes(new Http1Router(), { registry, health: edgeHealth });
  // A damaged local database found at start (server/edge/startup-check.ts): its repair is the
  // new incarnation taken then (the download follows). Resyncs (tombstone_ttl) as they happen.
  if (node.storageDamage !== undefined) {
    metrics.storageCorruption('edge', node.storageDamage);
    metrics.storageRepair('edge', node.storageDamage);
  }
  node.onResync = () => metrics.sync.resync('tombstone_ttl');
  const apis = await Promise.all(
    cfg.listenClientUrls.map((u) =>
      startApiServer(node.backend, { host: u.host, port: u.port }, {
        onCall: (e) => metrics.grpcRequest(e.name, e.code, e.durationSeconds),
        http1,
        onProtocolError: (err) => logger.debug('client connection closed: HTTP/2 protocol error', { error: err.message }),
        // The edge's own port over TLS with its certificate (clients are not asked for one).
        ...(u.scheme === 'https' && t.certFile !== undefined ? { tls: { files: { certFile: t.certFile, keyFile: t.keyFile!, clientCertAuth: false } } } : {}),
      }),
    ),
  );
  const metricsServers = await Promise.all(cfg.metricsListeners.map((l) => startMetricsServer({
    registry, snapshot, health: edgeHealth, host: l.host, port: l.port,
    status: () => node.status(),
  })));
  warnBeyondLoopback(cfg.metricsListeners, logger);
  node.start();
  logger.info('regionstore edge serving', {
    replicaId: node.replicaId, clientUrls: apis.map((a, i) => `http://${cfg.listenClientUrls[i]!.host}:${a.port}`), metrics: metricsServers.map((m) => m.url).join(','), region: cfg.region,
  });
  let stopping = false;
  const stop = async (reason: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { reason });
    edgeMetrics.stop();
    await Promise.all(apis.map((a) => a.close(500)));
    await node.close();
    await Promise.all(metricsServers.map((m) => m.close()));
    process.exit(exitCode);
  };
  // As a member does: counted, then a stop a supervisor restarts; that start repairs it.
  node.onStorageCorruption = (err) => {
    metrics.storageCorruption('edge', 'corrupt');
    void stop(`storage corruption: ${err.message}`, 1);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

// ---- command dispatch: `regionstore <subcommand>`, --version, --help ----

/** A subcommand of `regionstore`; `--help` lists them in this order. */
interface Subcommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<void>;
}

const SUBCOMMANDS: Subcommand[] = [
  { name: 'serve', summary: 'Run a region cluster member (etcd\'s flags; `regionstore serve --help` lists them)', run: serve },
  { name: 'member', summary: 'member reseed: bring back a member whose raft log cannot be read, from its peers', run: memberCommand },
  { name: 'edge', summary: 'Run an edge replica: a local copy that works offline and syncs with a region (`regionstore edge --help`)', run: edge },
  { name: 'snapshot', summary: 'snapshot restore <file>: a new member data dir from an etcd snapshot (etcd\'s restore flags)', run: snapshotCommand },
];

function rootHelp(): string {
  const width = Math.max(...SUBCOMMANDS.map((c) => c.name.length));
  return [
    `regionstore ${packageVersion()}: a replicated key-value store serving the etcd v${ETCD_API_VERSION} API.`,
    '',
    'Usage: regionstore <command> [flags]',
    '',
    'Commands:',
    ...SUBCOMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Flags:',
    '  --version  Print regionstore\'s version and the etcd API version it speaks',
    '  --help     Show this help',
    '',
    'The command-line client is `rsctl` (`rsctl --help`).',
  ].join('\n');
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  if (command === '--version' || command === 'version') {
    // etcd's `etcd --version` prints these two lines first.
    console.log(`regionstore Version: ${packageVersion()}`);
    console.log(`API Version: ${ETCD_API_VERSION}`);
    return;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(rootHelp());
    return;
  }
  const sub = SUBCOMMANDS.find((c) => c.name === command);
  if (sub === undefined) {
    console.error(command === undefined ? 'regionstore: no command given' : `regionstore: unknown command ${JSON.stringify(command)}`);
    console.error(rootHelp());
    process.exitCode = 2;
    return;
  }
  sub.run(rest).catch((err: unknown) => {
    // A refused data directory is the operator's to fix: the message says how; no stack.
    const refused = err instanceof Error && err.name === 'DataDirRefusedError';
    console.error(`regionstore ${sub.name}: ${err instanceof Error ? (refused ? err.message : err.stack) : String(err)}`);
    process.exit(1);
  });
}

main(process.argv.slice(2));

/** Which rocksdb build runs (issue 19): the prebuilt one, assertions on, is a warning at every start. */
function logRocksdbBinding(logger: ReturnType<typeof pinoLogger>): void {
  if (ROCKSDB_BINDING.kind === 'release') logger.info(describeRocksdbBinding(ROCKSDB_BINDING));
  else logger.warn(describeRocksdbBinding(ROCKSDB_BINDING));
}
