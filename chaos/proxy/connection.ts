// One proxied connection: the socket the dialling node opened to the proxy ("client") and
// the proxy's socket to the target ("upstream"), joined by two lanes. A connection
// accepted while its link is a blackhole gets no upstream at all: it stays open and
// silent, its bytes dropped, until the link passes again and cuts it.

import { connect, type Socket } from 'node:net';
import { Lane, type LaneHost } from './lane.js';

/** What a connection needs from its proxy. */
export interface ConnectionHost extends LaneHost {
  target(): { host: string; port: number } | undefined;
  /** The connection is gone (both sockets closed). */
  closed(c: Connection): void;
}

export class Connection {
  private upstream: Socket | undefined;
  private readonly lanes: Lane[] = [];
  /** Bytes were lost (blackhole) or a close was held back: cut this when the link heals. */
  poisoned = false;
  private gone = false;

  constructor(
    private readonly client: Socket,
    private readonly host: ConnectionHost,
    silent: boolean,
  ) {
    client.setNoDelay(true);
    client.on('error', () => {});
    client.on('close', () => this.sideClosed());
    const target = host.target();
    if (silent || target === undefined) {
      // Nowhere to go: read and drop, say nothing.
      this.poisoned = true;
      client.on('data', (chunk: Buffer) => host.poison(chunk.length));
      client.resume();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    this.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('close', () => this.sideClosed());
    upstream.once('connect', () => {
      const laneHost: LaneHost = {
        ...host,
        poison: (bytes) => {
          this.poisoned = true;
          host.poison(bytes);
        },
      };
      this.lanes.push(new Lane(client, upstream, laneHost, 'up'), new Lane(upstream, client, laneHost, 'down'));
      client.resume();
    });
  }

  /** A socket closed. Pass it on (reset the other), unless the link is a blackhole. */
  private sideClosed(): void {
    if (this.gone) return;
    const bothClosed = this.client.destroyed && (this.upstream === undefined || this.upstream.destroyed);
    if (bothClosed) {
      this.finish();
      return;
    }
    if (this.host.policy().blackhole) {
      this.poisoned = true;
      return;
    }
    this.cut();
  }

  /** Destroys both sockets with a reset, dropping anything queued. */
  cut(): void {
    for (const lane of this.lanes) lane.stop();
    for (const s of [this.client, this.upstream]) {
      if (s !== undefined && !s.destroyed) s.resetAndDestroy();
    }
    this.finish();
  }

  private finish(): void {
    if (this.gone) return;
    this.gone = true;
    for (const lane of this.lanes) lane.stop();
    this.host.closed(this);
  }
}
