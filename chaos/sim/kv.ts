// The simulator's state machine: a tiny key-value map fed by client writes with unique ids.
// A write's id makes retries idempotent (a retried write that lands twice in the log is
// applied once), and the map remembers which log index wrote each key so a read can be
// checked against the writes acknowledged before it began. Its snapshot is its own
// serialized state, so a restarted node rebuilds it exactly from snapshot + log replay.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client write as it travels in an entry's data. */
export interface WriteCommand {
  /** Unique per simulated client write; retries reuse it. */
  id: number;
  key: string;
  value: string;
}

export function encodeWrite(cmd: WriteCommand): Uint8Array {
  return encoder.encode(JSON.stringify([cmd.id, cmd.key, cmd.value]));
}

export function decodeWrite(data: Uint8Array): WriteCommand {
  const parsed: unknown = JSON.parse(decoder.decode(data));
  if (!Array.isArray(parsed) || parsed.length !== 3) throw new Error('kv: malformed write command');
  const [id, key, value] = parsed as [unknown, unknown, unknown];
  if (typeof id !== 'number' || typeof key !== 'string' || typeof value !== 'string') {
    throw new Error('kv: malformed write command');
  }
  return { id, key, value };
}

/** What a key holds: the value, the write that set it and the log index of that write. */
export interface KvCell {
  value: string;
  writeId: number;
  index: number;
}

export class KvStateMachine {
  private readonly cells = new Map<string, KvCell>();
  /** Write ids applied so far (dedupe of retries). */
  private readonly appliedIds = new Set<number>();
  /** Index of the last entry applied (normal, no-op or conf change). */
  appliedIndex = 0;

  /**
   * Applies a normal entry's data at `index`. Returns the write id when this entry applied a
   * write for the first time (the moment the client is acknowledged), else undefined.
   */
  applyNormal(index: number, data: Uint8Array): number | undefined {
    this.advanceTo(index);
    if (data.length === 0) return undefined; // a leader's no-op
    const cmd = decodeWrite(data);
    if (this.appliedIds.has(cmd.id)) return undefined;
    this.appliedIds.add(cmd.id);
    this.cells.set(cmd.key, { value: cmd.value, writeId: cmd.id, index });
    return cmd.id;
  }

  /** A conf change entry: nothing for the map, but the applied index moves. */
  applyOther(index: number): void {
    this.advanceTo(index);
  }

  get(key: string): KvCell | undefined {
    return this.cells.get(key);
  }

  hasApplied(writeId: number): boolean {
    return this.appliedIds.has(writeId);
  }

  get size(): number {
    return this.cells.size;
  }

  /** Distinct writes applied (the dedupe set is state too: a retry must not apply twice). */
  get appliedWrites(): number {
    return this.appliedIds.size;
  }

  serialize(): Uint8Array {
    const cells = [...this.cells.entries()].map(([k, c]) => [k, c.value, c.writeId, c.index]);
    return encoder.encode(JSON.stringify({ a: this.appliedIndex, c: cells, i: [...this.appliedIds] }));
  }

  static restore(data: Uint8Array, snapshotIndex: number): KvStateMachine {
    const kv = new KvStateMachine();
    kv.appliedIndex = snapshotIndex;
    if (data.length === 0) {
      if (snapshotIndex !== 0) throw new Error(`kv: empty snapshot data at index ${snapshotIndex}`);
      return kv;
    }
    const parsed = JSON.parse(decoder.decode(data)) as {
      a: number;
      c: Array<[string, string, number, number]>;
      i: number[];
    };
    if (parsed.a !== snapshotIndex) {
      throw new Error(`kv: snapshot data is of index ${parsed.a}, metadata says ${snapshotIndex}`);
    }
    for (const [k, value, writeId, index] of parsed.c) kv.cells.set(k, { value, writeId, index });
    for (const id of parsed.i) kv.appliedIds.add(id);
    return kv;
  }

  private advanceTo(index: number): void {
    if (index !== this.appliedIndex + 1) {
      throw new Error(`kv: applying index ${index} after ${this.appliedIndex}: entries must be applied in order, exactly once`);
    }
    this.appliedIndex = index;
  }
}
