// Free loopback ports for members, etcd and proxies started by tests and the launcher.
//
// Ports come from below the kernel's ephemeral range (ip_local_port_range), chosen at
// random and checked by binding them. Ports the OS hands out for port 0 come from the
// ephemeral range, which is also where every outgoing connection's local port comes
// from: a port picked that way, released, and bound again by a member a moment (or a
// restart) later could meanwhile be the local end of some other process's connection
// ("port N of n3 is in use by another process", seen in CI). Below the range only
// another explicit bind can take it. Our own pickers (parallel test files, each starting
// clusters, etcds and proxies, some long after they picked) also reserve what they pick with
// a file under PORT_RESERVATIONS_DIR for PORT_RESERVATION_MS, so two of them never hand out
// the same port while it may still be waiting to be bound (a random choice alone collided:
// one test restores snapshots for a minute between picking its ports and binding them).
// All ports of one call are held open together, so they are distinct.
import { closeSync, mkdirSync, openSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The lowest port picked; below it live well-known services and what operators configure by hand. */
export const PICK_PORT_LOW = 10_000;
/** Used when the kernel's ephemeral range cannot be read (not Linux). */
export const EPHEMERAL_LOW_DEFAULT = 32_768;
/** Attempts to find one free port before falling back to one the OS chooses. */
export const PICK_PORT_ATTEMPTS = 200;
/** Where pickers record the ports they handed out (one empty file per port). */
export const PORT_RESERVATIONS_DIR = join(tmpdir(), 'regionstore-port-reservations');
/** How long a picked port stays reserved for whoever picked it. */
export const PORT_RESERVATION_MS = 15 * 60_000;

/** Claims `port` for this picker unless another claimed it within PORT_RESERVATION_MS. */
function reserve(port: number): boolean {
  const file = join(PORT_RESERVATIONS_DIR, String(port));
  try {
    mkdirSync(PORT_RESERVATIONS_DIR, { recursive: true });
    closeSync(openSync(file, 'wx'));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true; // no shared dir: the bind check alone
  }
  try {
    if (Date.now() - statSync(file).mtimeMs < PORT_RESERVATION_MS) return false;
    const now = new Date();
    utimesSync(file, now, now);
    return true;
  } catch {
    return false;
  }
}

function listen(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function portOf(server: Server): number {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('a TCP server has no port');
  return addr.port;
}

/** The first port of the kernel's ephemeral range, or the usual Linux default. */
export function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > PICK_PORT_LOW + 1000 ? low : EPHEMERAL_LOW_DEFAULT;
  } catch {
    return EPHEMERAL_LOW_DEFAULT;
  }
}

async function holdOnePort(host: string, high: number): Promise<Server> {
  for (let attempt = 0; attempt < PICK_PORT_ATTEMPTS; attempt++) {
    const port = PICK_PORT_LOW + Math.floor(Math.random() * (high - PICK_PORT_LOW));
    if (!reserve(port)) continue;
    try {
      return await listen(port, host);
    } catch {
      // taken: try another
    }
  }
  return listen(0, host); // a crowded range: the OS's choice still works, with the race above
}

/** `count` distinct ports that were free on `host` a moment ago, outside the ephemeral range. */
export async function pickFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  const high = ephemeralLow();
  try {
    for (let i = 0; i < count; i++) servers.push(await holdOnePort(host, high));
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** Whether `port` can be bound on `host` right now. */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    await close(await listen(port, host));
    return true;
  } catch {
    return false;
  }
}
