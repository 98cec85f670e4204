// Free loopback ports for members, etcd and proxies started by tests and the launcher.
//
// Ports come from below the kernel's ephemeral range (ip_local_port_range), chosen at
// random and checked by binding them. Ports the OS hands out for port 0 come from the
// ephemeral range, which is also where every outgoing connection's local port comes
// from: a port picked that way, released, and bound again by a member a moment (or a
// restart) later could meanwhile be the local end of some other process's connection
// ("port N of n3 is in use by another process", seen in CI). Below the range only
// another explicit bind can take it, and the random choice makes two parallel pickers
// colliding unlikely. All ports of one call are held open together, so they are distinct.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** The lowest port picked; below it live well-known services and what operators configure by hand. */
export const PICK_PORT_LOW = 10_000;
/** Used when the kernel's ephemeral range cannot be read (not Linux). */
export const EPHEMERAL_LOW_DEFAULT = 32_768;
/** Attempts to find one free port before falling back to one the OS chooses. */
export const PICK_PORT_ATTEMPTS = 200;

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
