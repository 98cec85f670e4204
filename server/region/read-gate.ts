// Reads of a member's local state (the mvcc store and its engine) and the one thing that
// must not run under them: replacing that state with a snapshot from the leader. While the
// state is being replaced, reads are refused at once with UNAVAILABLE (clients retry on
// another member) rather than reaching an engine that is closed under them; the old engine
// is closed only once the reads that began before the install are done.

import { INSTALLING_SNAPSHOT_MESSAGE, RegionError } from './errors.js';

export class LocalReadGate {
  private replacing = false;
  private active = 0;
  private drained: (() => void) | undefined;

  /** Throws UNAVAILABLE (INSTALLING_SNAPSHOT_MESSAGE) while the state is being replaced. */
  check(): void {
    if (this.replacing) throw new RegionError('unavailable', INSTALLING_SNAPSHOT_MESSAGE);
  }

  /** Runs one read of the local state, or refuses it (check). */
  async read<T>(fn: () => Promise<T> | T): Promise<T> {
    this.check();
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      if (this.active === 0) this.wakeDrained();
    }
  }

  /**
   * Refuses new reads until `replace` settles. `replace` gets `idle`, which resolves once
   * every read begun before is done: call it right before closing the old state.
   */
  async replace<T>(replace: (idle: () => Promise<void>) => Promise<T>): Promise<T> {
    this.replacing = true;
    try {
      return await replace(() => this.idle());
    } finally {
      this.replacing = false;
    }
  }

  private idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  private wakeDrained(): void {
    const drained = this.drained;
    this.drained = undefined;
    drained?.();
  }
}
