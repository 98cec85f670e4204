// Shared by the regionstore.v1.Crdt cluster tests: one eventual namespace of each CRDT type,
// a raw Crdt client per member, and the check that every member's CrdtHash agrees.

import assert from 'node:assert/strict';
import { Client } from '../../client/index.js';
import { rawCrdt, type RawCrdt } from '../../server/api/testing/raw-crdt.js';
import { eventually, type TestCluster } from './cluster.js';

/** One namespace per CRDT type, and the prefix of each. */
export const CRDT_NAMESPACES = {
  lww: { name: 'cfg', prefix: 'cfg/' },
  mv: { name: 'docs', prefix: 'docs/' },
  counter: { name: 'counters', prefix: 'counters/' },
  set: { name: 'tags', prefix: 'tags/' },
  events: { name: 'ev', prefix: 'ev/' },
} as const;

export const b = (s: string): Buffer => Buffer.from(s);

export async function createCrdtNamespaces(c: TestCluster): Promise<void> {
  const client = new Client({ endpoints: c.hostPorts, timeoutMs: 15_000 });
  try {
    for (const [crdtType, ns] of Object.entries(CRDT_NAMESPACES)) {
      await client.namespaces.create({ ...ns, level: 'eventual', crdtType: crdtType as never, ...(crdtType === 'events' ? { schemaVersions: [1, 2] } : {}) });
    }
  } finally {
    client.close();
  }
}

/** A raw Crdt client per member, in node order. */
export function crdtClients(c: TestCluster): RawCrdt[] {
  return c.hostPorts.map((ep) => rawCrdt(ep));
}

/**
 * Waits until every member's CrdtHash of every namespace is the same at the same applied
 * index (members apply at their own pace; an idle cluster catches up), and returns them.
 */
export async function hashesAgree(clients: RawCrdt[], what: string, timeoutMs = 20_000): Promise<Record<string, number>> {
  return eventually(`every member's CrdtHash equal (${what})`, async () => {
    const out: Record<string, number> = {};
    for (const ns of Object.values(CRDT_NAMESPACES)) {
      const hs = await Promise.all(clients.map((c) => c.call('Hash', { namespace: ns.name }, {}, 5_000)));
      const first = hs[0];
      if (!hs.every((h) => h.hash === first.hash && h.revision === first.revision)) return undefined;
      assert.ok(hs.every((h) => h.namespace === ns.name));
      out[ns.name] = first.hash as number;
    }
    return out;
  }, timeoutMs, 250);
}

/** Raw Crdt clients opened through `open`, all closed by `closeAll` (a test file's after hook). */
export function crdtClientPool(): { open: (endpoint: string) => RawCrdt; closeAll: () => void } {
  const opened: RawCrdt[] = [];
  return {
    open: (endpoint) => {
      const c = rawCrdt(endpoint);
      opened.push(c);
      return c;
    },
    closeAll: () => {
      for (const c of opened.splice(0)) c.close();
    },
  };
}
