// Where a BboltWriter's pages go: a file (pages written at their offsets, so the metas
// can come last) or memory (tests and small files).

import { open, type FileHandle } from 'node:fs/promises';
import type { PageSink } from './writer.js';
import { DEFAULT_PAGE_SIZE } from './layout.js';

export class FilePageSink implements PageSink {
  private constructor(
    private readonly fh: FileHandle,
    private readonly pageSize: number,
  ) {}

  /** Creates (or truncates) the file at `path`. */
  static async create(path: string, pageSize = DEFAULT_PAGE_SIZE): Promise<FilePageSink> {
    return new FilePageSink(await open(path, 'w+'), pageSize);
  }

  async write(pgid: number, page: Uint8Array): Promise<void> {
    let off = 0;
    while (off < page.length) {
      const { bytesWritten } = await this.fh.write(page, off, page.length - off, pgid * this.pageSize + off);
      off += bytesWritten;
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

export class MemoryPageSink implements PageSink {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(private readonly pageSize = DEFAULT_PAGE_SIZE) {}

  write(pgid: number, page: Uint8Array): void {
    this.pages.set(pgid, Uint8Array.from(page));
  }

  /** The file's bytes, `pages` pages long (unwritten pages are zero). */
  bytes(pages: number): Buffer {
    const out = Buffer.alloc(pages * this.pageSize);
    for (const [pgid, page] of this.pages) out.set(page, pgid * this.pageSize);
    return out;
  }
}
