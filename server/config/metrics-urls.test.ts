// --listen-metrics-urls (etcd's flag) beside --metrics-addr: where the metrics and
// dashboard port listens. Loopback unless the operator names another address.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServeFlags, type ServeConfig, type ServeFlagsResult } from './serve-flags.js';
import { parseEdgeFlags, type EdgeConfig, type EdgeFlagsResult } from './edge-flags.js';

function config(r: ServeFlagsResult): ServeConfig {
  assert.equal(r.kind, 'config', r.kind === 'error' ? r.errors.join('\n') : r.kind);
  return (r as { config: ServeConfig }).config;
}

function errors(r: ServeFlagsResult): string {
  assert.equal(r.kind, 'error');
  return (r as { errors: string[] }).errors.join('\n');
}

describe('metrics listeners', () => {
  it('default: 127.0.0.1:2381 only', () => {
    assert.deepEqual(config(parseServeFlags([])).metricsListeners, [{ host: '127.0.0.1', port: 2381 }]);
  });

  it('--metrics-addr alone works as before', () => {
    const c = config(parseServeFlags(['--metrics-addr', '[::1]:0']));
    assert.deepEqual(c.metricsListeners, [{ host: '::1', port: 0 }]);
    assert.deepEqual(c.metricsAddr, { host: '::1', port: 0 });
  });

  it('--listen-metrics-urls alone replaces the default, with several URLs', () => {
    const c = config(parseServeFlags(['--listen-metrics-urls', 'http://127.0.0.1:9101, http://[::1]:9102']));
    assert.deepEqual(c.metricsListeners, [{ host: '127.0.0.1', port: 9101 }, { host: '::1', port: 9102 }]);
  });

  it('both: every URL plus --metrics-addr, listed once', () => {
    const both = config(parseServeFlags(['--listen-metrics-urls', 'http://0.0.0.0:9101', '--metrics-addr', '127.0.0.1:9100']));
    assert.deepEqual(both.metricsListeners, [{ host: '0.0.0.0', port: 9101 }, { host: '127.0.0.1', port: 9100 }]);
    const same = config(parseServeFlags(['--listen-metrics-urls', 'http://127.0.0.1:9100', '--metrics-addr', '127.0.0.1:9100']));
    assert.deepEqual(same.metricsListeners, [{ host: '127.0.0.1', port: 9100 }]);
  });

  it('from etcd\'s and our environment variables', () => {
    assert.deepEqual(config(parseServeFlags([], { ETCD_LISTEN_METRICS_URLS: 'http://127.0.0.1:9103' })).metricsListeners, [{ host: '127.0.0.1', port: 9103 }]);
    assert.deepEqual(config(parseServeFlags([], { REGIONSTORE_LISTEN_METRICS_URLS: 'http://127.0.0.1:9104' })).metricsListeners, [{ host: '127.0.0.1', port: 9104 }]);
  });

  it('refuses what cannot be listened on, saying why', () => {
    assert.match(errors(parseServeFlags(['--listen-metrics-urls', 'http://metrics.example:9101'])), /--listen-metrics-urls: .*binds a local address/);
    assert.match(errors(parseServeFlags(['--listen-metrics-urls', '127.0.0.1:9101'])), /--listen-metrics-urls: .*http:\/\/host:port/);
    assert.match(errors(parseServeFlags(['--listen-metrics-urls', 'http://127.0.0.1:1,http://127.0.0.1:1'])), /twice/);
    assert.match(errors(parseServeFlags(['--listen-metrics-urls', ''])), /--listen-metrics-urls/);
  });
});

describe('edge metrics listeners', () => {
  const BASE = ['--name', 'dev1', '--region', '127.0.0.1:2379'];
  const edge = (r: EdgeFlagsResult): EdgeConfig => {
    assert.equal(r.kind, 'config', r.kind === 'error' ? r.errors.join('\n') : r.kind);
    return (r as { config: EdgeConfig }).config;
  };

  it('default loopback with an OS-chosen port; URLs replace it, --metrics-addr beside them', () => {
    assert.deepEqual(edge(parseEdgeFlags(BASE, {})).metricsListeners, [{ host: '127.0.0.1', port: 0 }]);
    assert.deepEqual(edge(parseEdgeFlags([...BASE, '--listen-metrics-urls', 'http://[::1]:9201'], {})).metricsListeners, [{ host: '::1', port: 9201 }]);
    const both = edge(parseEdgeFlags([...BASE, '--listen-metrics-urls', 'http://[::1]:9201', '--metrics-addr', '127.0.0.1:9200'], {}));
    assert.deepEqual(both.metricsListeners, [{ host: '::1', port: 9201 }, { host: '127.0.0.1', port: 9200 }]);
    assert.deepEqual(edge(parseEdgeFlags(BASE, { REGIONSTORE_EDGE_LISTEN_METRICS_URLS: 'http://127.0.0.1:9202' })).metricsListeners, [{ host: '127.0.0.1', port: 9202 }]);
  });

  it('refuses a URL it cannot listen on', () => {
    const r = parseEdgeFlags([...BASE, '--listen-metrics-urls', 'http://metrics.example:9201'], {});
    assert.equal(r.kind, 'error');
    assert.match((r as { errors: string[] }).errors.join('\n'), /--listen-metrics-urls: .*binds a local address/);
  });
});
