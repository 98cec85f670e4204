// grpc-js clients of one region endpoint: etcd KV (forwarded writes, the strong copy's
// consistent Range), Watch (the strong copy's change feed) and regionstore.v1.Namespaces
// (the registry). The protos are loaded with proto-loader (numbers for 64-bit fields: every
// revision below 2^53, Buffers for bytes); no codegen.

import { credentials, loadPackageDefinition, Metadata, type ChannelCredentials, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import type { KeyValue } from '../mvcc/index.js';
import type { NamespaceDefinition } from '../namespace/index.js';
import { etcdProtoDir, protoDir } from '../../proto/dir.js';

const LOADER: Options = { keepCase: false, longs: Number, enums: Number, bytes: Buffer, defaults: true, oneofs: true };
/** Every unary call to the region gets this deadline. */
export const REGION_CALL_DEADLINE_MS = 5_000;

type Ctor = new (target: string, creds: ReturnType<typeof credentials.createInsecure>, opts?: object) => Client;
let ctors: { KV: Ctor; Watch: Ctor; Namespaces: Ctor } | undefined;

function load(): { KV: Ctor; Watch: Ctor; Namespaces: Ctor } {
  if (ctors !== undefined) return ctors;
  const root = protoDir();
  const etcd = loadPackageDefinition(loadSync('etcdserverpb/rpc.proto', { ...LOADER, includeDirs: [etcdProtoDir()] })) as unknown as {
    etcdserverpb: { KV: Ctor; Watch: Ctor };
  };
  const rs = loadPackageDefinition(loadSync('regionstore/v1/namespaces.proto', { ...LOADER, includeDirs: [root] })) as unknown as {
    regionstore: { v1: { Namespaces: Ctor } };
  };
  ctors = { KV: etcd.etcdserverpb.KV, Watch: etcd.etcdserverpb.Watch, Namespaces: rs.regionstore.v1.Namespaces };
  return ctors;
}

export interface WireKv {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

export interface WireWatchResponse {
  header?: { revision: number };
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: Array<{ type: number; kv?: WireKv }>;
}

export function kvFromWire(kv: WireKv): KeyValue {
  return { key: new Uint8Array(kv.key), value: new Uint8Array(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease };
}

interface WireNamespace {
  name: string;
  prefix: Buffer;
  level: string;
  crdtType: string;
  readLevel: string;
  maxStalenessMs: number;
  maxClockSkewMs: number;
  tombstoneTtlS: number;
  siblingWarn: number;
  siblingCap: number;
  schemaVersions: number[];
  description: string;
}

function namespaceFromWire(w: WireNamespace): NamespaceDefinition {
  return {
    name: w.name, prefix: w.prefix.toString('utf8'), level: w.level as NamespaceDefinition['level'], crdtType: w.crdtType as NamespaceDefinition['crdtType'],
    readLevel: w.readLevel as NamespaceDefinition['readLevel'], maxStalenessMs: w.maxStalenessMs, maxClockSkewMs: w.maxClockSkewMs,
    tombstoneTtlS: w.tombstoneTtlS, siblingWarn: w.siblingWarn, siblingCap: w.siblingCap, schemaVersions: [...w.schemaVersions], description: w.description,
  };
}

type Unary = (req: unknown, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;

/** The clients of one endpoint; close() ends them all. */
export class RegionClient {
  private readonly kv: Client;
  private readonly watchClient: Client;
  private readonly ns: Client;

  /** `creds`: TLS to the region (the edge's certificate); absent: plaintext. */
  constructor(readonly endpoint: string, creds: ChannelCredentials = credentials.createInsecure()) {
    const c = load();
    const opts = { 'grpc.enable_channelz': 0, 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
    this.kv = new c.KV(endpoint, creds, opts);
    this.watchClient = new c.Watch(endpoint, creds, opts);
    this.ns = new c.Namespaces(endpoint, creds, opts);
  }

  private call<T>(client: Client, method: string, req: unknown): Promise<T> {
    const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
    return new Promise((resolve, reject) => {
      fn(req, new Metadata(), { deadline: Date.now() + REGION_CALL_DEADLINE_MS }, (err, res) => (err === null ? resolve(res as T) : reject(err)));
    });
  }

  /**
   * The region's namespace registry, read linearizably: the edge replaces its own with it, and
   * a serializable answer from a member still catching up (a learner just added, before its
   * snapshot) lacks namespaces: the edge then stopped syncing them and refused writes to them,
   * and its unsent writes there looked sent to anyone reading its vectors (chaos seed 12).
   */
  async listNamespaces(): Promise<NamespaceDefinition[]> {
    const res = await this.call<{ namespaces: WireNamespace[] }>(this.ns, 'List', { serializable: false });
    return res.namespaces.map(namespaceFromWire);
  }

  put(req: { key: Uint8Array; value: Uint8Array; lease?: number; prevKv?: boolean; ignoreValue?: boolean; ignoreLease?: boolean }) {
    return this.call<{ header: { revision: number }; prevKv?: WireKv | null }>(this.kv, 'Put', {
      key: Buffer.from(req.key), value: Buffer.from(req.value), lease: req.lease ?? 0, prevKv: req.prevKv === true,
      ignoreValue: req.ignoreValue === true, ignoreLease: req.ignoreLease === true,
    });
  }

  deleteRange(req: { key: Uint8Array; rangeEnd?: Uint8Array; prevKv?: boolean }) {
    return this.call<{ header: { revision: number }; deleted: number; prevKvs: WireKv[] }>(this.kv, 'DeleteRange', {
      key: Buffer.from(req.key), rangeEnd: Buffer.from(req.rangeEnd ?? new Uint8Array(0)), prevKv: req.prevKv === true,
    });
  }

  /** A serializable Range page at `revision` (0: current). */
  range(key: Uint8Array, rangeEnd: Uint8Array, revision: number, limit: number) {
    return this.call<{ header: { revision: number }; kvs: WireKv[]; more: boolean }>(this.kv, 'Range', {
      key: Buffer.from(key), rangeEnd: Buffer.from(rangeEnd), revision, limit, serializable: false,
    });
  }

  watch(): ClientDuplexStream<unknown, WireWatchResponse> {
    return (this.watchClient as unknown as { Watch(): ClientDuplexStream<unknown, WireWatchResponse> }).Watch();
  }

  close(): void {
    this.kv.close();
    this.watchClient.close();
    this.ns.close();
  }
}
