// The watch workload: writers put and delete keys under a prefix while watchers on the
// prefix record every event, stream by stream (the client's session markers say where a
// resumed stream started). After the heal, each watcher is caught up to the final
// revision (a progress notification at or past it), and the store's own history of the
// prefix is read once more on a fresh stream: the truth the watchers are checked against
// (chaos/checker/watch.ts), and the writers' acknowledged writes too (durability.ts).

import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, Watch } from '../../client/index.js';
import type { SeededRandom } from '../../server/util/random.js';
import type { WatcherLog, WatchEvent } from '../checker/watch.js';
import {
  FINAL_READ_TIMEOUT_MS, clientSet, closeAll, errorText, failureStatus, pace, running, untilDone, withTimeout, workloadClient,
  type WorkloadContext,
} from './common.js';
import type { WriteAttempt } from './durability.js';

export const WATCH_PREFIX = 'watch/';
export const WATCH_KEYS = 5;
export const WATCHERS = 3;
export const DELETE_SHARE = 0.1;
/** A watcher gets this long after the heal to report progress up to the final revision. */
export const CATCH_UP_TIMEOUT_MS = 30_000;
export const PROGRESS_REQUEST_EVERY_MS = 500;

/** One watch, and what it received, session by session. */
class Watcher {
  readonly log: WatcherLog;
  /** The highest revision it is known to have been sent everything up to. */
  seenUpTo = 0;
  failure: string | undefined;
  private readonly watch: Watch;
  private readonly consumed: Promise<void>;

  constructor(name: string, client: Client, startRevision: number) {
    this.log = { watcher: name, prefix: WATCH_PREFIX, sessions: [] };
    this.watch = client.watch(WATCH_PREFIX, { prefix: true, startRevision, sessionMarkers: true });
    this.consumed = this.consume();
  }

  private async consume(): Promise<void> {
    try {
      for await (const b of this.watch) {
        if (b.type === 'session') {
          this.log.sessions.push({ startRevision: b.startRevision, events: [] });
        } else if (b.type === 'progress') {
          this.seenUpTo = Math.max(this.seenUpTo, b.revision);
        } else {
          const events: WatchEvent[] = b.events.map((e) => ({
            revision: e.kv.modRevision, key: e.kv.key.toString(), value: e.type === 'delete' ? null : e.kv.value.toString(),
          }));
          this.log.sessions[this.log.sessions.length - 1]?.events.push(...events);
          this.seenUpTo = Math.max(this.seenUpTo, ...events.map((e) => e.revision));
        }
      }
    } catch (err) {
      this.failure = errorText(err);
    }
  }

  ready(): Promise<void> {
    return this.watch.ready();
  }

  /** Asks for progress until it has been sent everything up to `revision`, or time runs out. */
  async catchUp(revision: number): Promise<boolean> {
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    while (this.seenUpTo < revision && this.failure === undefined && Date.now() < deadline) {
      this.watch.requestProgress();
      await sleep(PROGRESS_REQUEST_EVERY_MS);
    }
    if (this.seenUpTo >= revision) this.log.caughtUpTo = revision;
    return this.seenUpTo >= revision;
  }

  async close(): Promise<void> {
    this.watch.close();
    await this.consumed;
  }
}

export class WatchWorkload {
  readonly writes: WriteAttempt[] = [];
  /** The store's history of the prefix after the run (the truth), filled by finish(). */
  truth: WatchEvent[] = [];
  /** Watchers that could not be caught up, or whose watch failed. */
  readonly problems: string[] = [];
  startRevision = 0;
  finalRevision = 0;
  /** The store's history was read up to this revision. */
  truthUpTo = 0;
  private readonly clients: Client[];
  private readonly watchClients: Client[] = [];
  private readonly watchers: Watcher[] = [];

  constructor(private readonly ctx: WorkloadContext, private readonly writers: number) {
    this.clients = clientSet(ctx.endpoints);
  }

  get logs(): WatcherLog[] {
    return this.watchers.map((w) => w.log);
  }

  /** Opens the watchers from the revision after the current one (before the faults start). */
  async setup(): Promise<void> {
    const smart = this.clients[this.clients.length - 1]!;
    this.startRevision = (await untilDone(() => smart.kv.getPrefix(WATCH_PREFIX))).revision + 1;
    for (let i = 0; i < WATCHERS; i++) {
      const client = workloadClient(this.ctx.endpoints);
      this.watchClients.push(client);
      this.watchers.push(new Watcher(`watcher-${i}`, client, this.startRevision));
    }
    await withTimeout(Promise.all(this.watchers.map((w) => w.ready())), FINAL_READ_TIMEOUT_MS, 'opening the watchers');
  }

  private async write(client: Client, random: SeededRandom, w: number, seq: number): Promise<void> {
    const key = `${WATCH_PREFIX}${random.int(0, WATCH_KEYS)}`;
    const del = random.chance(DELETE_SHARE);
    const value = del ? null : `w${w}-${seq}`;
    try {
      if (del) {
        const r = await client.kv.delete(key);
        this.writes.push({ key, value, status: 'ok', revision: r.revision, deleted: r.deleted });
      } else {
        const r = await client.kv.put(key, value!);
        this.writes.push({ key, value, status: 'ok', revision: r.revision });
      }
    } catch (err) {
      this.writes.push({ key, value, status: failureStatus(err, true) });
    }
  }

  private async writer(w: number): Promise<void> {
    const random = this.ctx.random.fork();
    const client = this.clients[w % this.clients.length]!;
    for (let seq = 0; running(this.ctx); seq++) {
      await this.write(client, random, w, seq);
      await pace(random);
    }
  }

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.writers }, (_, w) => this.writer(w)));
  }

  /** After the heal: the final revision, every watcher caught up to it, and the truth. */
  async finish(): Promise<void> {
    const smart = this.clients[this.clients.length - 1]!;
    this.finalRevision = (await untilDone(() => smart.kv.getPrefix(WATCH_PREFIX))).revision;
    await Promise.all(this.watchers.map(async (w) => {
      if (!(await w.catchUp(this.finalRevision))) {
        this.problems.push(`${w.log.watcher} ${w.failure !== undefined ? `failed: ${w.failure}` : `was not caught up to revision ${this.finalRevision} within ${CATCH_UP_TIMEOUT_MS} ms (seen up to ${w.seenUpTo})`}`);
      }
    }));
    const reader = new Watcher('truth', smart, this.startRevision);
    await withTimeout(reader.ready(), FINAL_READ_TIMEOUT_MS, 'opening a watch to read the history');
    if (!(await reader.catchUp(this.finalRevision))) {
      this.problems.push(`the store's history could not be read up to revision ${this.finalRevision}${reader.failure === undefined ? '' : `: ${reader.failure}`}`);
    }
    await reader.close();
    this.truthUpTo = reader.seenUpTo;
    this.truth = reader.log.sessions.flatMap((s) => s.events);
  }

  async close(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.close()));
    closeAll([...this.clients, ...this.watchClients]);
  }
}
