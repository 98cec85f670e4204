// Edge sessions over TLS with mutual authentication (issue 16): the region's client port
// asks for client certificates, an edge presents one naming its device (CN edge:<device>),
// and the region takes the edge's identity from it. An edge that presents another edge's
// certificate (its HELLO claims a device the certificate does not name) is refused with
// forged-origin, counted in regionstore_sync_failures_total and logged; nothing of it applies.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '../client/index.js';
import { serveCommandFromEnv } from '../cluster/launcher.js';
import { rawCrdt } from '../server/api/testing/raw-crdt.js';
import { hasOpenssl, makeCa, type CertFiles, type TestCa } from './helpers/certs.js';
import { eventually } from './helpers/cluster.js';
import { startEdge, type EdgeProcess } from './helpers/edge.js';
import { startTlsCluster, type TlsCluster } from './helpers/tls-cluster.js';

const haveOpenssl = hasOpenssl();

let dir: string;
let ca: TestCa;
let root: CertFiles;
let cluster: TlsCluster;
const edges: EdgeProcess[] = [];

async function forgedCount(): Promise<number> {
  let total = 0;
  for (const m of cluster.members) {
    const text = await (await fetch(`${m.metricsUrl}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith('regionstore_sync_failures_total{') && line.includes('reason="forged-origin"')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

describe('TLS: edge identity from its client certificate', { skip: !haveOpenssl && 'openssl not installed: apt-get install openssl' }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rs-tls-edge-'));
    ca = makeCa(join(dir, 'ca'));
    const members = [1, 2, 3].map((i) => ca.issue(`m${i}`, { server: true }));
    root = ca.issue('root-client', { cn: 'root' });
    cluster = await startTlsCluster({
      peerScheme: 'http',
      flags: (i) => ['--cert-file', members[i]!.cert, '--key-file', members[i]!.key, '--trusted-ca-file', ca.cert, '--client-cert-auth'],
    });
    const c = new Client({ endpoints: cluster.members.map((m) => m.clientUrl), tls: { caFile: ca.cert, certFile: root.cert, keyFile: root.key }, timeoutMs: 15_000 });
    try {
      await c.namespaces.create({ name: 'counters', prefix: 'counters/', level: 'eventual', crdtType: 'counter' });
    } finally {
      c.close();
    }
  });
  after(async () => {
    for (const e of edges) await e.kill();
    await cluster?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('syncs an edge whose certificate names it, and refuses one presenting another edge\'s certificate', async () => {
    const certA = ca.issue('edge-a', { cn: 'edge:dev-a' });
    const certB = ca.issue('edge-b', { cn: 'edge:dev-b', uris: ['urn:regionstore:edge:dev-b'] });
    const region = cluster.members.map((m) => m.clientUrl);
    const tlsArgs = (c: CertFiles): string[] => ['--cert-file', c.cert, '--key-file', c.key, '--trusted-ca-file', ca.cert, '--log-level', 'warn'];
    const serve = serveCommandFromEnv();
    const a = await startEdge(serve, { name: 'dev-a', dataDir: join(dir, 'a'), region, namespaces: ['counters'], extraArgs: tlsArgs(certA) });
    edges.push(a);
    await eventually('dev-a in session over TLS', async () => {
      const s = await a.status();
      return s.connected === true && (s.sync?.sessions ?? 0) > 0 ? true : undefined;
    }, 60_000, 200);
    const forgedBefore = await forgedCount();
    // dev-c holds dev-b's certificate: the region must not take it for dev-c, nor let it speak as dev-b.
    const c = await startEdge(serve, { name: 'dev-c', dataDir: join(dir, 'c'), region, namespaces: ['counters'], extraArgs: tlsArgs(certB) });
    edges.push(c);
    const wc = rawCrdt(c.endpoint);
    const wa = rawCrdt(a.endpoint);
    try {
      // Until dev-c has pulled the registry it does not hold `counters` yet and refuses the
      // write (nothing applied): a loaded machine made that race fail this test.
      await eventually('dev-c takes a write once it holds counters', async () => {
        try {
          await wc.call('Write', { ops: [{ counterAdd: { key: Buffer.from('counters/forged'), delta: '7' } }] });
          return true;
        } catch (err) {
          if (/does not hold namespace/.test(String(err))) return undefined;
          throw err;
        }
      }, 30_000, 200);
      await wa.call('Write', { ops: [{ counterAdd: { key: Buffer.from('counters/real'), delta: '3' } }] });
      const outcome = await eventually('dev-c refused with forged-origin', async () => {
        const s = await c.status();
        const text = `${s.sync?.lastOutcome ?? ''} ${s.lastError ?? ''}`;
        return /forged-origin/.test(text) ? text : undefined;
      }, 60_000, 200);
      assert.match(outcome, /certificate/);
      await eventually('the refusal is counted', async () => ((await forgedCount()) > forgedBefore ? true : undefined), 20_000, 200);
      const logged = cluster.members.some((m) => m.output.join('').includes('edge session refused: forged origin'));
      assert.ok(logged, 'the refusal is logged on the member that refused it');
      // The region knows dev-a, and no session of the impostor under either name.
      const list = new Client({ endpoints: cluster.members.map((m) => m.clientUrl), tls: { caFile: ca.cert, certFile: root.cert, keyFile: root.key } });
      try {
        const known = await eventually('dev-a known to the region', async () => {
          const l = await list.edges.list();
          return l.edges.some((e) => e.deviceId === 'dev-a') ? l : undefined;
        }, 30_000, 200);
        assert.ok(!known.edges.some((e) => e.deviceId === 'dev-c' || e.deviceId === 'dev-b'), `no session for the impostor: ${JSON.stringify(known.edges.map((e) => e.deviceId))}`);
      } finally {
        list.close();
      }
    } finally {
      wc.close();
      wa.close();
    }
  });
});
