// server/storage/bbolt: etcd's backend file format (bbolt), written and read without Go.
export { BboltWriter, compareBytes, type BboltFileInfo, type Entry, type PageSink } from './writer.js';
export { BboltFormatError, BboltReader, bufferSource, type ByteSource } from './reader.js';
export { FilePageSink, MemoryPageSink } from './sinks.js';
export { DEFAULT_PAGE_SIZE } from './layout.js';
