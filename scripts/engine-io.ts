// Counts a benchmark's engine traffic: keys read (get and getMany), read calls, written ops
// and bytes. Wraps the engine's methods in place; shared by the in-process apply benches.
import type { Engine } from '../server/storage/index.js';

export interface EngineIo {
  gets: number;
  calls: number;
  ops: number;
  bytes: number;
}

export function countEngineIo(engine: Engine): EngineIo {
  const io: EngineIo = { gets: 0, calls: 0, ops: 0, bytes: 0 };
  const { get, getMany, write } = engine;
  engine.get = (key) => (io.gets++, io.calls++, get.call(engine, key));
  engine.getMany = (keys) => ((io.gets += keys.length), io.calls++, getMany.call(engine, keys));
  engine.write = (ops, o) => {
    io.ops += ops.length;
    for (const op of ops) io.bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    return write.call(engine, ops, o);
  };
  return io;
}
