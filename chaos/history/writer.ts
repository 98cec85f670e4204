// Appends operations to a history file, one line each. append() validates the operation
// at once (a workload bug shows up where it happens, not at check time) and buffers the
// line; flush() writes what is buffered. Writes are serialised, so lines land in append
// order. The buffer is bounded: past BUFFER_BYTES_MAX an append starts a flush itself.
// One writer per file and line format: the register format by default, or another
// workload's (the crdt workload's, chaos/history/crdt-op.ts) given as a LineCodec.

import { open, type FileHandle } from 'node:fs/promises';
import { assert } from '../../server/util/assert.js';
import { formatOp, opError, type HistoryOp } from './op.js';

/** Buffered bytes past which append() starts a flush without being asked. */
export const BUFFER_BYTES_MAX = 1 << 20;

/** How a history's lines are checked and written. */
export interface LineCodec<T> {
  /** What is wrong with an operation, or undefined. */
  error(op: T): string | undefined;
  format(op: T): string;
}

export const REGISTER_CODEC: LineCodec<HistoryOp> = { error: opError, format: formatOp };

export class HistoryWriter<T = HistoryOp> {
  private buffer: string[] = [];
  private bufferedBytes = 0;
  /** The write in progress (or the last one); every write chains after it. */
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private closed = false;
  private count = 0;

  private constructor(private readonly file: FileHandle, private readonly codec: LineCodec<T>) {}

  /** Creates (or truncates) the file at `path`, for register operations. */
  static async create(path: string): Promise<HistoryWriter> {
    return new HistoryWriter(await open(path, 'w'), REGISTER_CODEC);
  }

  /** Creates (or truncates) the file at `path`, for lines of another format. */
  static async createWith<U>(path: string, codec: LineCodec<U>): Promise<HistoryWriter<U>> {
    return new HistoryWriter(await open(path, 'w'), codec);
  }

  /** Operations appended so far. */
  get appended(): number {
    return this.count;
  }

  /** Validates and buffers one operation. Throws on an invalid operation or after close(). */
  append(op: T): void {
    assert(!this.closed, 'HistoryWriter: append after close');
    if (this.failure !== undefined) throw this.failure;
    const error = this.codec.error(op);
    assert(error === undefined, () => `HistoryWriter: invalid operation ${JSON.stringify(op)}: ${error}`);
    const line = this.codec.format(op) + '\n';
    this.buffer.push(line);
    this.bufferedBytes += line.length;
    this.count++;
    if (this.bufferedBytes >= BUFFER_BYTES_MAX) {
      // Errors surface on the next append or flush.
      this.flush().catch(() => {});
    }
  }

  /** Writes everything appended so far. */
  flush(): Promise<void> {
    if (this.buffer.length > 0) {
      const text = this.buffer.join('');
      this.buffer = [];
      this.bufferedBytes = 0;
      this.writing = this.writing.then(async () => {
        if (this.failure !== undefined) return;
        try {
          await this.file.write(text);
        } catch (err) {
          this.failure = err as Error;
        }
      });
    }
    return this.writing.then(() => {
      if (this.failure !== undefined) throw this.failure;
    });
  }

  /** Flushes, syncs and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
      await this.file.sync();
    } finally {
      this.closed = true;
      await this.file.close();
    }
  }
}
