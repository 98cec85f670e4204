// A TLS front for clients that only speak TLS (the etcd3 suite's fixtures do): accepts TLS
// with ALPN h2 on a loopback port chosen by the OS and pipes each connection's plaintext,
// which is HTTP/2 either way, to the next member in turn, so the client's connections are
// spread over every member of the cluster.
import { connect, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';

export interface TlsFront {
  /** host:port to give the client. */
  address: string;
  /** Connections handed to each member so far, in member order. */
  perMember: number[];
  close(): Promise<void>;
}

export async function startTlsFront(members: string[], tls: { cert: Buffer; key: Buffer }): Promise<TlsFront> {
  const perMember = members.map(() => 0);
  const open = new Set<Socket>();
  let next = 0;
  const server = createServer({ cert: tls.cert, key: tls.key, ALPNProtocols: ['h2'] }, (client: TLSSocket) => {
    const i = next++ % members.length;
    perMember[i] = (perMember[i] ?? 0) + 1;
    const [host, port] = (members[i] as string).split(':');
    const upstream = connect(Number(port), host as string);
    open.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.pipe(upstream).pipe(client);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('tls front: no port');
  return {
    address: `127.0.0.1:${addr.port}`,
    perMember,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
