// Declared namespaces (declared-namespaces.ts): the file's checks, and the applier's rules —
// only a leader creates, existing ones are left as they are, a lost race is success, a
// refusal for good is logged once, and it stops when nothing is left. The host here is a
// registry in a Map; test/observability.test.ts runs the real thing on a 3-member region.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NamespaceError, completeDefinition, type NamespaceDefinition, type NamespaceSpec } from '../namespace/index.js';
import type { Logger } from '../util/logger.js';
import { DeclaredNamespaces, parseNamespacesFile, type DeclaredNamespacesHost } from './declared-namespaces.js';

test('the file: JSON with a namespaces list (or the list alone); every problem at once', () => {
  const ok = parseNamespacesFile('{"namespaces":[{"name":"carts","prefix":"carts/","level":"eventual","crdtType":"mv"}]}', 'f.json');
  assert.deepEqual(ok.map((s) => s.name), ['carts']);
  assert.equal(parseNamespacesFile('[{"name":"a","prefix":"a/"}]', 'f.json').length, 1);
  assert.throws(() => parseNamespacesFile('{not json', 'f.json'), /f\.json: not JSON/);
  assert.throws(() => parseNamespacesFile('{"ns": []}', 'f.json'), /expected \{"namespaces": \[\.\.\.\]\}/);
  const err = (() => {
    try {
      parseNamespacesFile(JSON.stringify([{ name: 'a', prefix: 'a/', levle: 'strong' }, { name: 'b', prefix: '' }, { name: 'a', prefix: 'x/' }, 7]), 'f.json');
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  })();
  assert.match(err, /namespaces\[0\]: unknown field\(s\) levle/);
  assert.match(err, /namespaces\[1\] \("b"\): namespace prefix is empty/);
  assert.match(err, /namespaces\[2\]: "a" is declared twice/);
  assert.match(err, /namespaces\[3\]: expected an object/);
});

function host(): DeclaredNamespacesHost & { leader: boolean; registry: Map<string, NamespaceDefinition>; creates: string[]; fail: Map<string, Error> } {
  const h = {
    leader: false, registry: new Map<string, NamespaceDefinition>(), creates: [] as string[], fail: new Map<string, Error>(),
    get isLeader() { return h.leader; },
    get: (name: string) => h.registry.get(name),
    create(spec: NamespaceSpec): Promise<NamespaceDefinition> {
      h.creates.push(spec.name);
      const f = h.fail.get(spec.name);
      if (f !== undefined) {
        h.fail.delete(spec.name);
        return Promise.reject(f);
      }
      if (h.registry.has(spec.name)) return Promise.reject(new NamespaceError('already-exists', 'exists'));
      const d = completeDefinition(spec);
      h.registry.set(d.name, d);
      return Promise.resolve(d);
    },
  };
  return h;
}

function logger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (m: string) => void errors.push(m) };
}

const tick = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('the applier: only a leader creates; existing ones stay; a lost race is fine; it stops when done', async () => {
  // The applier's timer is unref'd (it never holds a member open); this one holds the test's loop.
  const keep = setInterval(() => {}, 1_000);
  const h = host();
  const log = logger();
  h.registry.set('carts', completeDefinition({ name: 'carts', prefix: 'carts/', level: 'eventual', crdtType: 'lww' }));
  h.fail.set('tele', new NamespaceError('failed-precondition', 'no quorum')); // retried
  h.fail.set('bad', new NamespaceError('invalid', 'prefix overlaps')); // refused for good
  const specs: NamespaceSpec[] = [
    { name: 'carts', prefix: 'carts/', level: 'eventual', crdtType: 'mv' }, { name: 'config', prefix: 'config/' },
    { name: 'tele', prefix: 'tele/', level: 'eventual', crdtType: 'events' }, { name: 'bad', prefix: 'bad/' },
  ];
  const d = new DeclaredNamespaces(specs, h, log, 10);
  await tick();
  assert.deepEqual(h.creates, [], 'a follower creates nothing');
  h.leader = true;
  await d.whenDone();
  d.close();
  assert.deepEqual([...h.registry.keys()].sort(), ['carts', 'config', 'tele']);
  assert.equal(h.registry.get('carts')!.crdtType, 'lww', 'an existing namespace is left as it is');
  assert.deepEqual(log.errors.sort(), ['a declared namespace exists with other fixed fields; it is left as it is', 'declared namespace refused by the registry; fix the namespaces file'].sort());
  assert.deepEqual(h.creates.filter((n) => n === 'tele').length, 2, 'retried after no quorum');

  // Again on the same registry (a restart): nothing proposed.
  const again = host();
  again.leader = true;
  for (const [k, v] of h.registry) again.registry.set(k, v);
  const d2 = new DeclaredNamespaces(specs.filter((s) => s.name !== 'bad'), again, logger(), 10);
  await d2.whenDone();
  d2.close();
  assert.deepEqual(again.creates, [], 'idempotent: nothing to create');
  clearInterval(keep);
});
