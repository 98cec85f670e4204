// What `bench:scale` reads about each member from outside: resident memory (/proc), bytes
// on disk (as du counts them: allocated blocks, so etcd's preallocated WAL files count
// and sparse holes do not) and the counters and gauges of its Prometheus /metrics page.

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** How long a /metrics scrape may take before the member counts as not answering. */
export const SCRAPE_TIMEOUT_MS = 5_000;
const BLOCK_BYTES = 512;

/** VmRSS of `pid` in bytes, undefined when it is gone or /proc is missing. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Allocated bytes of every file under `dir` (du -s). */
export async function diskBytes(dir: string): Promise<number> {
  let sum = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0; // removed meanwhile
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) sum += await diskBytes(path);
    else if (e.isFile()) sum += await stat(path).then((s) => s.blocks * BLOCK_BYTES, () => 0);
  }
  return sum;
}

/** Series (name with labels, as written) to value, of a Prometheus text exposition. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    const value = Number(line.slice(cut + 1));
    if (cut > 0 && !Number.isNaN(value)) out.set(line.slice(0, cut), value);
  }
  return out;
}

/** GET `url` (a /metrics page) and parse it; undefined when the member does not answer. */
export async function scrape(url: string): Promise<Map<string, number> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    return res.ok ? parseExposition(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}
