// What the start-up WAL check (server/storage/wal-check.ts) costs: a RocksDB WAL of --mib
// MiB written by real RocksDB (a memtable large enough that nothing is flushed, as a state
// database killed with a full 64 MiB memtable leaves it), then checked --rounds times. Prints
// wall and CPU ms per MiB (CPU holds on a loaded machine; say the load average with the wall
// figure) and the load average.
//
//   npx tsx scripts/bench-wal-check.ts [--mib 64] [--rounds 3]

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RocksEngine } from '../server/storage/rocksdb-engine.js';
import { checkWalFiles } from '../server/storage/wal-check.js';

const { values: args } = parseArgs({ options: { mib: { type: 'string', default: '64' }, rounds: { type: 'string', default: '3' } } });
const mib = Number(args.mib);
/** Puts per write batch and value size: an apply batch of small puts, as the state writes them. */
const BATCH_PUTS = 100;
const VALUE_BYTES = 1000;

const dir = mkdtempSync(join(tmpdir(), 'rs-bench-wal-'));
try {
  const db = await RocksEngine.open(dir, { writeBufferSize: 2 * mib * 1024 * 1024 + 64 * 1024 * 1024 });
  let n = 0;
  for (let written = 0; written < mib * 1024 * 1024; written += BATCH_PUTS * (VALUE_BYTES + 16)) {
    await db.write(Array.from({ length: BATCH_PUTS }, () => ({ type: 'put' as const, key: Buffer.from(`k${String(n++).padStart(12, '0')}`), value: randomBytes(VALUE_BYTES) })));
  }
  await db.close();
  for (let r = 0; r < Number(args.rounds); r++) {
    const cpu0 = process.cpuUsage();
    const c = await checkWalFiles(dir);
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const walMib = c.bytes / 1024 / 1024;
    console.log(`round ${r + 1}: ${c.files} WAL file(s), ${walMib.toFixed(1)} MiB, ${c.records} records, ${c.damage ? 'DAMAGE' : c.tornTail ? 'torn tail' : 'intact'}: ` +
      `${c.ms} ms wall (${(c.ms / walMib).toFixed(2)} ms/MiB), ${cpuMs.toFixed(0)} ms CPU (${(cpuMs / walMib).toFixed(2)} ms/MiB); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
