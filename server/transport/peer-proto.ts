// proto/regionstore/v1/peer.proto loaded with proto-loader, the call metadata every peer
// RPC carries, and the shapes of the decoded requests. grpc-js calls are made through the
// generic Client with the method definitions below, which keeps them typed without codegen.

import { Metadata, status, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { assert } from '../util/assert.js';
import type { NodeId } from '../raft/types.js';
import { protoDir } from '../../proto/dir.js';

export const META_CLUSTER_ID = 'rs-cluster-id';
export const META_FROM = 'rs-from';
export const META_TO = 'rs-to';

export interface SendRequest {
  batch: Uint8Array;
}
export type SendResponse = Record<string, never>;
export interface SnapshotHeader {
  from: number;
  clusterId: string;
  metadata: Uint8Array;
  message: Uint8Array;
}
/** `kind` is set on decoded chunks (proto-loader's `oneofs`); a writer leaves it out. */
export type SnapshotChunk =
  | { kind?: 'header'; header: SnapshotHeader }
  | { kind?: 'data'; data: Uint8Array }
  | { kind?: 'trailer'; trailer: { totalBytes: number } };
export interface SnapshotResponse {
  receivedBytes: number;
}
export interface ProbeRequest {
  from: number;
}
export interface ProbeResponse {
  id: number;
}

export interface MembersRequest {
  from: number;
}
/** A member as one peer tells another (the registry's record without client URLs). */
export interface PeerMember {
  id: number;
  name: string;
  peerUrls: string[];
  isLearner: boolean;
}
export interface MembersResponse {
  id: number;
  members: PeerMember[];
}

export interface PeerService {
  definition: ServiceDefinition;
  send: MethodDefinition<SendRequest, SendResponse>;
  sendSnapshot: MethodDefinition<SnapshotChunk, SnapshotResponse>;
  probe: MethodDefinition<ProbeRequest, ProbeResponse>;
  members: MethodDefinition<MembersRequest, MembersResponse>;
}

function protoPath(): string {
  return `${protoDir()}/regionstore/v1/peer.proto`;
}

let cached: PeerService | undefined;

export function peerService(): PeerService {
  if (cached !== undefined) return cached;
  const pkg = loadSync(protoPath(), { keepCase: false, longs: Number, enums: Number, defaults: true, oneofs: true });
  const definition = pkg['regionstore.v1.RaftPeer'] as ServiceDefinition | undefined;
  assert(definition !== undefined && 'Send' in definition, 'peer.proto has no service regionstore.v1.RaftPeer');
  cached = {
    definition,
    send: definition['Send'] as MethodDefinition<SendRequest, SendResponse>,
    sendSnapshot: definition['SendSnapshot'] as MethodDefinition<SnapshotChunk, SnapshotResponse>,
    probe: definition['Probe'] as MethodDefinition<ProbeRequest, ProbeResponse>,
    members: definition['Members'] as MethodDefinition<MembersRequest, MembersResponse>,
  };
  return cached;
}

/** "http://host:port", "https://host:port" or "host:port" → "host:port" (TLS is the transport's credentials' business). */
export function grpcTarget(url: string): string {
  const target = url.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  assert(/^[^/\s]+:\d+$/.test(target), `peer URL ${url}: expected http(s)://host:port or host:port`);
  return target;
}

export function callMetadata(clusterId: string, from: NodeId, to: NodeId): Metadata {
  const md = new Metadata();
  md.set(META_CLUSTER_ID, clusterId);
  md.set(META_FROM, String(from));
  md.set(META_TO, String(to));
  return md;
}

export interface CallRefusal {
  code: status;
  details: string;
}

/** Checks the metadata of an incoming call; returns the sender id, or why the call is refused.
 *  With `anyTo`, rs-to 0 ("whoever listens there") is accepted too. */
export function checkCallMetadata(md: Metadata, clusterId: string, localId: NodeId, anyTo = false): NodeId | CallRefusal {
  const theirs = md.get(META_CLUSTER_ID)[0];
  if (theirs !== clusterId) {
    return {
      code: status.FAILED_PRECONDITION,
      details: `cluster id mismatch: this node is in cluster ${clusterId}, the caller says ${String(theirs ?? '(none)')}`,
    };
  }
  const to = Number(md.get(META_TO)[0] ?? localId);
  if (to !== localId && !(anyTo && to === 0)) {
    return {
      code: status.FAILED_PRECONDITION,
      details: `member id mismatch: this node is ${localId}, the caller wants ${to}; check its peer URLs`,
    };
  }
  const from = Number(md.get(META_FROM)[0]);
  if (!Number.isSafeInteger(from) || from <= 0) {
    return { code: status.INVALID_ARGUMENT, details: `bad ${META_FROM} metadata: a positive node id is required` };
  }
  return from;
}
