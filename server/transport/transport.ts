// The seam between a region node and its peers. The region node hands raft's outgoing
// messages to `send` (which never blocks the Ready loop) and gets incoming ones through
// the handlers it passed at construction. grpc-transport.ts is the gRPC implementation.
//
// Snapshot flow (receiver side), the one place where the order matters:
//   1. a peer opens a SendSnapshot call; the transport decodes the raft Snap message;
//   2. the transport calls `onSnapshot(message, chunks)`; the region node reads every chunk,
//      builds the state in a fresh directory and swaps it in, then resolves;
//   3. the transport THEN delivers the Snap message through `onMessages([message])`, so raft
//      steps it only once the state it describes is in place, and answers the sender OK;
//   4. if `onSnapshot` rejects (or the sender's stream breaks, which makes `chunks` throw),
//      the Snap message is not delivered and the sender gets an error status, which it
//      reports to its raft as `onSnapshotStatus(id, 'failure')`.
// Handlers must not throw synchronously: a throw is a bug and is not caught.

import type { Message, NodeId } from '../raft/types.js';
import type { PeerMember } from './peer-proto.js';

export type SnapshotStatus = 'finish' | 'failure';

/** Why messages were dropped without being sent. */
export type DropReason = 'queue-full' | 'unknown-peer' | 'too-large' | 'closed';

/** Events for metrics (server/metrics maps them to prom-client; this folder imports none). */
export type TransportEvent =
  | { type: 'messages-sent'; peer: NodeId; messages: number; bytes: number }
  | { type: 'messages-received'; peer: NodeId; messages: number; bytes: number }
  | { type: 'messages-dropped'; peer: NodeId; messages: number; reason: DropReason }
  /** A peer stream broke or could not be opened; `reason` is the gRPC status text. */
  | { type: 'send-failure'; peer: NodeId; reason: string }
  | { type: 'peer-connected'; peer: NodeId }
  /** `reason` says why a snapshot failed (empty when it did not). */
  | { type: 'snapshot-sent'; peer: NodeId; bytes: number; status: SnapshotStatus; reason: string }
  | { type: 'snapshot-received'; peer: NodeId; bytes: number; ok: boolean; reason: string }
  /** A call refused by this node's server (wrong cluster id, wrong member id, bad input). */
  | { type: 'call-refused'; method: string; reason: string }
  /** The peer server kept HTTP/2's 64 KiB receive windows (flow-window.ts could not widen
   *  them on this grpc-js): replication and snapshots are slower, nothing else changes. */
  | { type: 'flow-window-default'; reason: string };

export interface TransportHandlers {
  /** Messages from peers, in the order each peer sent them. Called synchronously per batch. */
  onMessages(messages: Message[]): void;
  /** A peer could not be reached, or messages to it were dropped: the region node calls
   *  RawNode.reportUnreachable(id) so raft stops pipelining to it and probes instead. */
  onUnreachable(id: NodeId): void;
  /** Outcome of a snapshot this node sent: the region node calls RawNode.reportSnapshot. */
  onSnapshotStatus(id: NodeId, status: SnapshotStatus): void;
  /** Receiver side of a snapshot; see the module comment for the order of events. */
  onSnapshot(message: Message, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  /** Sender side: the data of a Snap message passed to `send`. Without it, the data sent is
   *  `message.snapshot.data`. Called once per snapshot send. */
  openSnapshot?(message: Message): AsyncIterable<Uint8Array>;
  /** The members this node knows, for a peer's Members call (a member about to join asks).
   *  Without it, the call answers with an empty list. */
  listMembers?(): PeerMember[];
  /** Metrics hook; called synchronously (also from inside send()), must be cheap. Every
   *  other handler is called from its own task, never from inside send(). */
  onEvent?(event: TransportEvent): void;
}

export interface Transport {
  /** Listens on `listenAddr` ("host:port" or "http://host:port"); port 0 = chosen by the OS. */
  start(listenAddr: string): Promise<{ port: number }>;
  /** `url` is "host:port" or "http://host:port". Adding a known id is an error. */
  addPeer(id: NodeId, url: string): void;
  /** Points an existing peer at a new URL; queued messages are kept. */
  updatePeer(id: NodeId, url: string): void;
  /** Forgets a peer: its queue is dropped and its snapshot in flight fails. */
  removePeer(id: NodeId): void;
  /** Queues messages to their destinations. Never blocks, never throws: what cannot be
   *  queued is dropped and reported (onUnreachable + a 'messages-dropped' event). Messages
   *  of type Snap go to the snapshot path (openSnapshot supplies their data). */
  send(messages: readonly Message[]): void;
  /** Streams a snapshot on its own call. Resolves (never rejects) with the status also
   *  reported through onSnapshotStatus, within a deadline scaled to the bytes sent
   *  (limits.snapshotDeadline*). One snapshot in flight per peer: a second request
   *  resolves (and is reported) with the outcome of the one in flight. */
  sendSnapshot(to: NodeId, message: Message, data: AsyncIterable<Uint8Array>): Promise<SnapshotStatus>;
  /** Stops the server, every stream and every timer. Idempotent. */
  close(): Promise<void>;
}
