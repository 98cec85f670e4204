import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLAGS, NON_SETTING_ENV, UNSAFE_ENV, envName } from './flag-table.js';
import { ROCKSDB_TUNING_VAR } from '../storage/rocksdb-tuning.js';
import { NODE_NICE_VAR, ROCKSDB_NICE_VAR } from '../storage/thread-priority.js';
import { initialMembers, parseGoDurationMs, parseServeFlags, type ServeConfig, type ServeFlagsResult } from './serve-flags.js';

function config(r: ServeFlagsResult): ServeConfig {
  assert.equal(r.kind, 'config', r.kind === 'error' ? r.errors.join('\n') : r.kind);
  return (r as { config: ServeConfig }).config;
}

function errors(r: ServeFlagsResult): string[] {
  assert.equal(r.kind, 'error');
  return (r as { errors: string[] }).errors;
}

const urls = (l: readonly { url: string }[]): string[] => l.map((u) => u.url);

const THREE = [
  '--name', 'n2',
  '--data-dir', 'data/n2',
  '--listen-client-urls', 'http://127.0.0.1:2479',
  '--advertise-client-urls', 'http://127.0.0.1:2479',
  '--listen-peer-urls', 'http://127.0.0.1:2480',
  '--initial-advertise-peer-urls', 'http://127.0.0.1:2480',
  '--initial-cluster', 'n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2480,n3=http://127.0.0.1:2580',
  '--initial-cluster-state', 'new',
  '--initial-cluster-token', 'tok-1',
  '--metrics-addr', '127.0.0.1:0',
];

describe('serve flags', () => {
  it('--unsafe-crdt-apply-duplicates (the chaos crdt teeth): refused unless REGIONSTORE_UNSAFE=1; flag or env', () => {
    assert.equal(config(parseServeFlags([])).unsafeCrdtApplyDuplicates, false);
    assert.match(errors(parseServeFlags(['--unsafe-crdt-apply-duplicates', 'true'])).join('\n'), /REGIONSTORE_UNSAFE=1/);
    assert.equal(config(parseServeFlags(['--unsafe-crdt-apply-duplicates', 'true'], { REGIONSTORE_UNSAFE: '1' })).unsafeCrdtApplyDuplicates, true);
    const env = { REGIONSTORE_UNSAFE_CRDT_APPLY_DUPLICATES: 'true', REGIONSTORE_UNSAFE: '1' };
    assert.equal(config(parseServeFlags([], env)).unsafeCrdtApplyDuplicates, true);
  });

  it('defaults like etcd', () => {
    const c = config(parseServeFlags([]));
    assert.equal(c.name, 'default');
    assert.equal(c.dataDir, 'default.regionstore');
    assert.deepEqual(urls(c.listenClientUrls), ['http://localhost:2379']);
    assert.deepEqual(urls(c.advertiseClientUrls), ['http://localhost:2379']);
    assert.deepEqual(urls(c.initialAdvertisePeerUrls), ['http://localhost:2380']);
    assert.equal(c.initialCluster, undefined);
    assert.deepEqual(initialMembers(c).map((m) => [m.name, urls(m.peerUrls)]), [['default', ['http://localhost:2380']]]);
    assert.equal(c.initialClusterState, 'new');
    assert.deepEqual(c.metricsAddr, { host: '127.0.0.1', port: 2381 });
    assert.equal(c.heartbeatMs, 100);
    assert.equal(c.electionMs, 1000);
    assert.equal(c.logLevel, 'info');
  });

  it('parses a founding member of a 3-node cluster', () => {
    const c = config(parseServeFlags(THREE));
    assert.equal(c.name, 'n2');
    assert.equal(c.dataDir, 'data/n2');
    assert.deepEqual(c.initialCluster?.map((m) => m.name), ['n1', 'n2', 'n3']);
    assert.deepEqual(urls(c.initialAdvertisePeerUrls), ['http://127.0.0.1:2480']);
    assert.equal(c.initialClusterToken, 'tok-1');
    assert.deepEqual(c.metricsAddr, { host: '127.0.0.1', port: 0 });
  });

  it('takes --flag=value and single-dash flags', () => {
    const c = config(parseServeFlags(['-name=a', '--data-dir=/tmp/x', '-log-level', 'debug']));
    assert.deepEqual([c.name, c.dataDir, c.logLevel], ['a', '/tmp/x', 'debug']);
  });

  it('restarts need no initial-cluster flags', () => {
    const c = config(parseServeFlags(['--name', 'n1', '--data-dir', 'data/n1', '--listen-peer-urls', 'http://127.0.0.1:2380']));
    assert.equal(c.initialCluster, undefined);
  });

  it('takes advertise peer URLs from --initial-cluster when not given', () => {
    const argv = ['--name', 'n3', '--initial-cluster', 'n1=http://127.0.0.1:2380,n3=http://127.0.0.1:2580'];
    assert.deepEqual(urls(config(parseServeFlags(argv)).initialAdvertisePeerUrls), ['http://127.0.0.1:2580']);
  });

  it('reads REGIONSTORE_* then ETCD_*; flags win', () => {
    const env = {
      REGIONSTORE_NAME: 'from-env', ETCD_NAME: 'from-etcd', REGIONSTORE_DATA_DIR: '/d', ETCD_INITIAL_CLUSTER_TOKEN: 'etok',
      ETCD_HEARTBEAT_INTERVAL: '50', REGIONSTORE_ELECTION_MS: '600', REGIONSTORE_LOG_LEVEL: '',
    };
    let c = config(parseServeFlags([], env));
    assert.deepEqual([c.name, c.dataDir, c.initialClusterToken, c.heartbeatMs, c.electionMs, c.logLevel],
      ['from-env', '/d', 'etok', 50, 600, 'info']);
    c = config(parseServeFlags(['--name', 'flag'], env));
    assert.equal(c.name, 'flag');
    c = config(parseServeFlags([], { ETCD_NAME: 'from-etcd' }));
    assert.equal(c.name, 'from-etcd');
  });

  it('every flag has a documented REGIONSTORE_ variable', () => {
    const names = FLAGS.map(envName);
    assert.ok(names.includes('REGIONSTORE_INITIAL_ADVERTISE_PEER_URLS'));
    assert.ok(names.includes('REGIONSTORE_METRICS_ADDR'));
    const help = parseServeFlags(['--help']);
    assert.equal(help.kind, 'help');
    for (const n of names) assert.ok(help.kind === 'help' && help.text.includes(n), n);
  });

  it('sizes the record cache in MiB, 0 turning it off', () => {
    assert.equal(config(parseServeFlags([])).recordCacheBytes, 64 * 1024 * 1024);
    assert.equal(config(parseServeFlags(['--record-cache-mb', '0'])).recordCacheBytes, 0);
    assert.equal(config(parseServeFlags([], { REGIONSTORE_RECORD_CACHE_MB: '8' })).recordCacheBytes, 8 * 1024 * 1024);
    assert.match(errors(parseServeFlags(['--record-cache-mb', '-1'])).join(), /"-1" is not a whole number \(0 or more\)/);
  });

  it("reads --quota-backend-bytes as etcd: 2 GiB by default, 0 the default, negative no quota", () => {
    const GIB = 1024 * 1024 * 1024;
    assert.equal(config(parseServeFlags([])).quotaBackendBytes, 2 * GIB);
    assert.equal(config(parseServeFlags(['--quota-backend-bytes', '0'])).quotaBackendBytes, 2 * GIB);
    assert.equal(config(parseServeFlags(['--quota-backend-bytes=-1'])).quotaBackendBytes, -1);
    assert.equal(config(parseServeFlags([], { ETCD_QUOTA_BACKEND_BYTES: '8589934592' })).quotaBackendBytes, 8 * GIB);
    assert.match(errors(parseServeFlags(['--quota-backend-bytes', '2G'])).join(), /"2G" is not a whole number/);
  });

  it("reads etcd's auth flags: --auth-token simple or jwt with options, --auth-token-ttl, --bcrypt-cost", () => {
    const d = config(parseServeFlags([]));
    assert.deepEqual([d.authToken, d.authTokenTtlS, d.bcryptCost], [{ type: 'simple' }, 300, 10]);
    const j = config(parseServeFlags(['--auth-token', 'jwt,pub-key=a.pub,priv-key=a.key,sign-method=RS256,ttl=10m', '--bcrypt-cost', '4']));
    assert.deepEqual(j.authToken, { type: 'jwt', options: { 'pub-key': 'a.pub', 'priv-key': 'a.key', 'sign-method': 'RS256', ttl: '10m' } });
    assert.equal(j.bcryptCost, 4);
    assert.equal(config(parseServeFlags([], { ETCD_AUTH_TOKEN_TTL: '60' })).authTokenTtlS, 60);
    assert.match(errors(parseServeFlags(['--auth-token', 'oauth'])).join(), /"oauth" is not a token type/);
    assert.match(errors(parseServeFlags(['--auth-token', 'jwt,sign-method'])).join(), /is not key=value/);
    assert.match(errors(parseServeFlags(['--bcrypt-cost', '40'])).join(), /outside bcrypt's bounds/);
  });

  it('accepts etcd spellings of the timing flags', () => {
    const c = config(parseServeFlags(['--heartbeat-interval', '20', '--election-timeout', '200']));
    assert.deepEqual([c.heartbeatMs, c.electionMs], [20, 200]);
  });

  it('warns on repeated flags and unknown REGIONSTORE_ variables', () => {
    const r = parseServeFlags(['--name', 'a', '--name', 'b'], { REGIONSTORE_NAM: 'x' });
    assert.equal(r.kind, 'config');
    assert.equal(config(r).name, 'b');
    const w = (r as { warnings: string[] }).warnings.join('\n');
    assert.match(w, /--name is given more than once/);
    assert.match(w, /REGIONSTORE_NAM is not a serve setting \(did you mean REGIONSTORE_NAME\?\)/);
  });

  it('gives no unknown-variable warning for the variables a member reads besides its settings', () => {
    for (const v of [ROCKSDB_TUNING_VAR, ROCKSDB_NICE_VAR, NODE_NICE_VAR]) assert.ok(NON_SETTING_ENV.includes(v), `${v} (storage) is listed in flag-table.ts`);
    const r = parseServeFlags(['--name', 'a'], { [ROCKSDB_TUNING_VAR]: 'rsStatistics=1', [ROCKSDB_NICE_VAR]: 'off', [NODE_NICE_VAR]: 'off', [UNSAFE_ENV]: '1' });
    assert.deepEqual((r as { warnings: string[] }).warnings, []);
  });

  it('reports every problem at once, each naming the flag and the fix', () => {
    const e = errors(parseServeFlags([
      '--nmae', 'x', 'stray', '--listen-client-urls', 'https://127.0.0.1:2379', '--listen-peer-urls', 'http://example.com:2380',
      '--advertise-client-urls', 'http://0.0.0.0:2379', '--metrics-addr', 'nope', '--initial-cluster-state', 'old',
      '--heartbeat-ms', '100', '--election-ms', '300', '--log-level', 'loud', '--initial-cluster', 'a=http://127.0.0.1:1',
    ]));
    const text = e.join('\n');
    assert.match(text, /unknown flag --nmae \(did you mean name\?\)/);
    assert.match(text, /unexpected argument "stray"/);
    assert.match(text, /--listen-client-urls: use https:\/\/ but no certificate is given: give --cert-file and --key-file, or --auto-tls/);
    assert.match(text, /--listen-peer-urls: http:\/\/example.com:2380: a listen URL binds a local address/);
    assert.match(text, /--advertise-client-urls: .*cannot be dialled/);
    assert.match(text, /--metrics-addr: "nope" is not of the form host:port/);
    assert.match(text, /--initial-cluster-state: "old" is not one of new, existing/);
    assert.match(text, /--election-ms: 300 ms must be at least 5 × the heartbeat/);
    assert.match(text, /--log-level: "loud" is not one of/);
    assert.match(text, /--initial-cluster: has no member named "default" \(it has a\); add default=<its peer URL> or fix --name/);
  });

  it('refuses malformed URLs with an example of the right form', () => {
    for (const bad of ['127.0.0.1:2379', 'http://127.0.0.1', 'http://127.0.0.1:2379/path', 'http://h:99999', 'http://h:0']) {
      const text = errors(parseServeFlags(['--listen-client-urls', bad])).join('\n');
      assert.match(text, /--listen-client-urls: .*(http:\/\/host:port|port)/, bad);
    }
    assert.match(errors(parseServeFlags([], { REGIONSTORE_LISTEN_PEER_URLS: 'bogus' })).join(),
      /^REGIONSTORE_LISTEN_PEER_URLS: "bogus" is not of the form http:\/\/host:port/);
  });

  it('checks --initial-cluster against this member', () => {
    const mismatch = [...THREE];
    mismatch[mismatch.indexOf('--initial-advertise-peer-urls') + 1] = 'http://127.0.0.1:9999';
    assert.match(errors(parseServeFlags(mismatch)).join(), /differs from n2's URLs in --initial-cluster/);
    const dup = ['--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:1,b=http://127.0.0.1:1'];
    assert.match(errors(parseServeFlags(dup)).join(), /gives http:\/\/127.0.0.1:1 to both a and b/);
    const form = ['--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:1,b'];
    assert.match(errors(parseServeFlags(form)).join(), /"b", which is not name=http:\/\/host:port/);
  });

  it('lets a member have several peer URLs, as etcd does', () => {
    const argv = ['--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:1,a=http://127.0.0.2:1,b=http://127.0.0.1:2'];
    const c = config(parseServeFlags(argv));
    assert.deepEqual(urls(c.initialAdvertisePeerUrls), ['http://127.0.0.1:1', 'http://127.0.0.2:1']);
  });

  it('asks for advertise URLs when listening on every interface', () => {
    const e = errors(parseServeFlags(['--listen-client-urls', 'http://0.0.0.0:2379', '--listen-peer-urls', 'http://0.0.0.0:2380']));
    assert.match(e.join('\n'), /--advertise-client-urls: is needed when --listen-client-urls listens on every interface/);
    assert.match(e.join('\n'), /give --initial-advertise-peer-urls/);
  });

  it('accepts IPv6 loopback', () => {
    const c = config(parseServeFlags(['--listen-client-urls', 'http://[::1]:2379', '--metrics-addr', '[::1]:0']));
    assert.deepEqual(c.listenClientUrls[0], { url: 'http://[::1]:2379', scheme: 'http', host: '::1', port: 2379 });
    assert.deepEqual(c.metricsAddr, { host: '::1', port: 0 });
  });

  it('a flag missing its value says how to give it', () => {
    assert.match(errors(parseServeFlags(['--name'])).join(), /--name needs a value/);
  });
});

describe('Go durations (etcd duration flags)', () => {
  it('parses what time.ParseDuration takes and refuses the rest', () => {
    assert.equal(parseGoDurationMs('5s'), 5_000);
    assert.equal(parseGoDurationMs('10m'), 600_000);
    assert.equal(parseGoDurationMs('1h30m'), 5_400_000);
    assert.equal(parseGoDurationMs('500ms'), 500);
    assert.equal(parseGoDurationMs('1.5s'), 1_500);
    assert.equal(parseGoDurationMs('0'), 0);
    for (const bad of ['', '5', 's', '5 s', '-5s', '5sx', '5d']) assert.equal(parseGoDurationMs(bad), undefined, bad);
  });

  it('--experimental-watch-progress-notify-interval defaults to etcd\'s 10 minutes', () => {
    const r = parseServeFlags(['--experimental-watch-progress-notify-interval', '5s'], {});
    assert.equal(r.kind === 'config' && r.config.watchProgressNotifyMs, 5_000);
    const d = parseServeFlags([], {});
    assert.equal(d.kind === 'config' && d.config.watchProgressNotifyMs, 600_000);
    const bad = parseServeFlags(['--experimental-watch-progress-notify-interval', '5'], {});
    assert.equal(bad.kind, 'error');
  });
});
