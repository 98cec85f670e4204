import assert from 'node:assert/strict';
import { test } from 'node:test';
import { b, str, withHarness } from './testing/harness.js';
import { EventType } from './types.js';
import { WATCH_BUFFER_EVENTS_MAX, WatchFilter, type WatchResponse, type Watcher } from './watch-hub.js';

/** Reads responses until `n` events arrived. */
async function take(w: Watcher, n: number): Promise<WatchResponse[]> {
  const out: WatchResponse[] = [];
  let got = 0;
  while (got < n) {
    const r = await w.next();
    assert.ok(r !== undefined, 'watcher closed early');
    out.push(r);
    got += r.events.length;
  }
  return out;
}

const summary = (rs: WatchResponse[]) => rs.flatMap((r) => r.events.map((e) => `${e.type === EventType.PUT ? 'put' : 'del'} ${str(e.kv.key)}@${e.kv.modRevision}`));

test('watch: live events after apply, ranges, single keys, filters, prev_kv', () =>
  withHarness(async (h) => {
    const hub = h.store.watchHub;
    const prefix = hub.watch({ key: b('p/'), rangeEnd: b('p0') });
    const single = hub.watch({ key: b('p/a'), prevKv: true });
    const noPut = hub.watch({ key: b('p/'), rangeEnd: b('p0'), filters: [WatchFilter.NOPUT] });
    await h.put('p/a', '1');
    await h.put('q', 'x');
    await h.put('p/a', '2');
    await h.del('p/', 'p0');
    assert.deepEqual(summary(await take(prefix, 3)), ['put p/a@2', 'put p/a@4', 'del p/a@5']);
    const s = await take(single, 3);
    const evs = s.flatMap((r) => r.events);
    assert.deepEqual(evs.map((e) => (e.prevKv === undefined ? null : str(e.prevKv.value))), [null, '1', '2']);
    assert.deepEqual(summary(await take(noPut, 1)), ['del p/a@5']);
    assert.equal(hub.watcherCount, 3);
    for (const w of [prefix, single, noPut]) w.cancel();
    assert.equal(hub.watcherCount, 0);
    assert.equal(await prefix.next(), undefined);
  }));

test('watch: start revision replays history, then live; future start waits', () =>
  withHarness(async (h) => {
    for (let i = 2; i <= 6; i++) await h.put(`k${i}`, 'v'); // k<i> at revision i (etcd's first write is 2)
    const w = h.store.watchHub.watch({ key: b('k'), rangeEnd: b('l'), startRevision: 4 });
    const future = h.store.watchHub.watch({ key: b('k'), rangeEnd: b('l'), startRevision: 8 });
    assert.deepEqual(summary(await take(w, 3)), ['put k4@4', 'put k5@5', 'put k6@6']);
    await h.put('k7', 'v');
    await h.put('k8', 'v');
    assert.deepEqual(summary(await take(w, 2)), ['put k7@7', 'put k8@8']);
    assert.deepEqual(summary(await take(future, 1)), ['put k8@8']);
  }));

test('watch: compacted start revision gets a compactRevision answer and closes', () =>
  withHarness(async (h) => {
    for (let i = 2; i <= 5; i++) await h.put('k', `${i}`); // revision i
    await h.apply({ type: 'compact', compact: { revision: 4 } });
    const w = h.store.watchHub.watch({ key: b('k'), startRevision: 3 });
    const r = await w.next();
    assert.deepEqual([r?.compactRevision, r?.canceled, r?.events.length], [4, true, 0]);
    assert.equal(await w.next(), undefined);
    assert.equal(h.store.watchHub.watcherCount, 0);
    const ok = h.store.watchHub.watch({ key: b('k'), startRevision: 4 });
    assert.deepEqual(summary(await take(ok, 2)), ['put k@4', 'put k@5']);
  }));

test('watch: a slow watcher stops buffering and catches up from history', () =>
  withHarness(async (h) => {
    const w = h.store.watchHub.watch({ key: b('s/'), rangeEnd: b('s0') });
    const n = WATCH_BUFFER_EVENTS_MAX * 3;
    const batch = [];
    for (let i = 0; i < n; i++) batch.push({ index: i + 1, command: { type: 'put' as const, put: { key: b(`s/${i}`), value: b('v') } } });
    for (let i = 0; i < n; i += 100) await h.store.applyBatch(batch.slice(i, i + 100)); // many publishes, nobody reading
    h.index = n;
    assert.ok(w.queuedEvents <= WATCH_BUFFER_EVENTS_MAX, `queued ${w.queuedEvents}`);
    assert.equal(w.synced, false);
    const got = summary(await take(w, n));
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => `put s/${i}@${i + 2}`));
    await h.put('s/x', 'v');
    assert.deepEqual(summary(await take(w, 1)), [`put s/x@${n + 2}`]);
    assert.equal(w.synced, true);
  }));

test('watch: a watcher that falls behind a compaction is told so', () =>
  withHarness(async (h) => {
    const w = h.store.watchHub.watch({ key: b('k') });
    for (let i = 0; i < WATCH_BUFFER_EVENTS_MAX + 10; i++) await h.put('k', `${i}`);
    await h.apply({ type: 'compact', compact: { revision: h.store.currentRevision } });
    const responses: WatchResponse[] = [];
    for (let r = await w.next(); r !== undefined; r = await w.next()) responses.push(r);
    const last = responses[responses.length - 1];
    assert.equal(last?.compactRevision, h.store.currentRevision);
    assert.equal(last?.canceled, true);
  }));

test('watch: progress notifications carry the current revision while synced', () =>
  withHarness(async (h) => {
    await h.put('a', '1');
    const w = h.store.watchHub.watch({ key: b('zzz'), progressNotify: true });
    w.requestProgress();
    assert.deepEqual(await w.next(), { watchId: w.id, revision: 2, events: [] });
    await h.put('b', '1');
    h.store.watchHub.progressNotifyAll();
    assert.equal((await w.next())?.revision, 3);
    const behind = h.store.watchHub.watch({ key: b('a'), startRevision: 1 });
    behind.requestProgress(); // unsynced: nothing queued, like etcd
    assert.deepEqual(summary(await take(behind, 1)), ['put a@2']);
  }));

test('watch: a snapshot install moves open watchers to the new store without a gap, a duplicate or a cancel', () =>
  withHarness(async (behind) =>
    withHarness(async (ahead) => {
      for (const h of [behind, ahead]) {
        await h.put('p/a', '1'); // 2
        await h.put('p/b', '1'); // 3
      }
      const live = behind.store.watchHub.watch({ key: b('p/'), rangeEnd: b('p0') });
      const fromStart = behind.store.watchHub.watch({ key: b('p/a'), startRevision: 2 });
      const compactedAway = behind.store.watchHub.watch({ key: b('p/b'), startRevision: 3 });
      // The member that is ahead (the snapshot's source) moved on and compacted.
      await ahead.put('p/a', '2'); // 4
      await ahead.del('p/b'); // 5
      await ahead.put('p/c', '1'); // 6
      await ahead.apply({ type: 'compact', compact: { revision: 4 } });

      // The first response of fromStart is read before the move; the rest come after it.
      assert.deepEqual(summary(await take(fromStart, 1)), ['put p/a@2']);
      behind.store.watchHub.retire();
      behind.store.watchHub.moveAllTo(ahead.store.watchHub);
      assert.equal(behind.store.watchHub.watcherCount, 0);

      assert.deepEqual(summary(await take(live, 3)), ['put p/a@4', 'del p/b@5', 'put p/c@6']);
      const compacted = await compactedAway.next();
      assert.deepEqual([compacted?.canceled, compacted?.compactRevision], [true, 4]);
      // fromStart had reached revision 3, at or past the compaction: it carries on.
      assert.deepEqual(summary(await take(fromStart, 1)), ['put p/a@4']);
      await ahead.put('p/a', '3'); // 7, live again
      assert.deepEqual(summary(await take(live, 1)), ['put p/a@7']);
      assert.deepEqual(summary(await take(fromStart, 1)), ['put p/a@7']);
      const fresh = ahead.store.watchHub.watch({ key: b('q') });
      assert.ok(![live.id, fromStart.id, compactedAway.id].includes(fresh.id), 'ids stay unique in the new hub');
      for (const w of [live, fromStart, fresh]) w.cancel();
    })));
