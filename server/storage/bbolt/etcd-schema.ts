// etcd's backend schema inside the bbolt file (etcd 3.4/3.5 server/mvcc, lease,
// membership, auth, alarm): bucket names, revision keys and the protobuf records stored
// there, encoded by hand (a few fields, no protobuf runtime needed).
//
//   key     [8 BE main]['_'][8 BE sub](['t'] for a tombstone) → mvccpb.KeyValue
//   lease   [8 BE id] → leasepb.Lease
//   meta    consistent_index, term (8 BE), confState (JSON), finished/scheduledCompactRev (revision key)
//   members [hex id] → JSON {id, peerURLs, name?, clientURLs?, isLearner?}
//   cluster clusterVersion → "3.5.0";  auth authRevision → 8 BE;  alarm [pb AlarmMember] → ""

export const EtcdBucket = {
  alarm: 'alarm',
  auth: 'auth',
  authRoles: 'authRoles',
  authUsers: 'authUsers',
  cluster: 'cluster',
  key: 'key',
  lease: 'lease',
  members: 'members',
  membersRemoved: 'members_removed',
  meta: 'meta',
} as const;

export const REVISION_KEY_BYTES = 17;
const TOMBSTONE_MARK = 0x74; // 't'

export function etcdRevisionKey(main: number, sub: number, tombstone: boolean): Buffer {
  const k = Buffer.alloc(REVISION_KEY_BYTES + (tombstone ? 1 : 0));
  k.writeBigUInt64BE(BigInt(main), 0);
  k[8] = 0x5f; // '_'
  k.writeBigUInt64BE(BigInt(sub), 9);
  if (tombstone) k[REVISION_KEY_BYTES] = TOMBSTONE_MARK;
  return k;
}

export function parseEtcdRevisionKey(k: Uint8Array): { main: number; sub: number; tombstone: boolean } {
  const b = Buffer.from(k.buffer, k.byteOffset, k.byteLength);
  if (b.length < REVISION_KEY_BYTES || b[8] !== 0x5f) throw new Error(`not an etcd revision key: ${b.toString('hex')}`);
  return {
    main: Number(b.readBigUInt64BE(0)),
    sub: Number(b.readBigUInt64BE(9)),
    tombstone: b.length > REVISION_KEY_BYTES && b[REVISION_KEY_BYTES] === TOMBSTONE_MARK,
  };
}

export function u64be(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n), 0);
  return b;
}

// ---- protobuf, the few shapes etcd stores

class PbWriter {
  private readonly parts: number[] = [];
  varint(field: number, n: number | bigint): this {
    // proto3 leaves zero scalars out, as gogoproto's Marshal does.
    if (BigInt(n) === 0n) return this;
    this.raw((field << 3) | 0);
    this.raw(BigInt.asUintN(64, BigInt(n)));
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    if (b.length === 0) return this;
    this.raw((field << 3) | 2);
    this.raw(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  finish(): Buffer {
    return Buffer.from(this.parts);
  }
  private raw(n: number | bigint): void {
    let v = BigInt(n);
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
  }
}

/** Field number → last value (varints as bigint, length-delimited as bytes). */
function pbFields(b: Uint8Array): Map<number, bigint | Buffer> {
  const out = new Map<number, bigint | Buffer>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= b.length || shift > 63n) throw new Error('truncated protobuf varint');
      const x = b[i++]!;
      v |= BigInt(x & 0x7f) << shift;
      if (x < 0x80) return v;
    }
  };
  while (i < b.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.set(field, varint());
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > b.length) throw new Error('truncated protobuf field');
      out.set(field, Buffer.from(b.subarray(i, i + len)));
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const int = (v: bigint | Buffer | undefined): number => (typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : 0);
const big = (v: bigint | Buffer | undefined): bigint => (typeof v === 'bigint' ? BigInt.asIntN(64, v) : 0n);
const bytesOf = (v: bigint | Buffer | undefined): Buffer => (Buffer.isBuffer(v) ? v : Buffer.alloc(0));

/** mvccpb.KeyValue. */
export interface EtcdKeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

/** A decoded KeyValue also carries its lease id exactly (etcd's ids are 63-bit). */
export interface DecodedEtcdKeyValue extends EtcdKeyValue {
  leaseBig: bigint;
}

/** `lease` may be a bigint: etcd's ids are 63-bit. */
export function encodeEtcdKeyValue(kv: Omit<EtcdKeyValue, 'lease'> & { lease: number | bigint }): Buffer {
  return new PbWriter()
    .bytes(1, kv.key).varint(2, kv.createRevision).varint(3, kv.modRevision).varint(4, kv.version)
    .bytes(5, kv.value).varint(6, kv.lease).finish();
}

export function decodeEtcdKeyValue(b: Uint8Array): DecodedEtcdKeyValue {
  const f = pbFields(b);
  return {
    key: bytesOf(f.get(1)), createRevision: int(f.get(2)), modRevision: int(f.get(3)), version: int(f.get(4)),
    value: bytesOf(f.get(5)), lease: int(f.get(6)), leaseBig: big(f.get(6)),
  };
}

/** leasepb.Lease: ID, TTL, RemainingTTL (set once checkpointed). */
export interface EtcdLease {
  id: number;
  ttl: number;
  remainingTtl: number;
}

export function encodeEtcdLease(l: Omit<EtcdLease, 'id'> & { id: number | bigint }): Buffer {
  return new PbWriter().varint(1, l.id).varint(2, l.ttl).varint(3, l.remainingTtl).finish();
}

export function decodeEtcdLease(b: Uint8Array): EtcdLease & { idBig: bigint } {
  const f = pbFields(b);
  return { id: int(f.get(1)), idBig: big(f.get(1)), ttl: int(f.get(2)), remainingTtl: int(f.get(3)) };
}

/** etcdserverpb.AlarmMember, the alarm bucket's key. */
export function encodeEtcdAlarmMember(memberId: number, alarm: number): Buffer {
  return new PbWriter().varint(1, memberId).varint(2, alarm).finish();
}

export function decodeEtcdAlarmMember(b: Uint8Array): { memberId: number; alarm: number } {
  const f = pbFields(b);
  const id = f.get(1);
  return { memberId: typeof id === 'bigint' ? Number(id) : 0, alarm: int(f.get(2)) };
}

/** A member as etcd's membership store writes it (membership.Member JSON). */
export interface EtcdMember {
  id: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** Go's encoding/json of membership.Member: uint64 id as a bare number, omitempty fields. */
export function encodeEtcdMember(m: EtcdMember): Buffer {
  // Field order is Go's: ID, then the embedded RaftAttributes, then Attributes.
  const parts = [`"id":${BigInt(m.id).toString()}`, `"peerURLs":${JSON.stringify(m.peerURLs)}`];
  if (m.isLearner) parts.push('"isLearner":true');
  if (m.name !== '') parts.push(`"name":${JSON.stringify(m.name)}`);
  if (m.clientURLs.length > 0) parts.push(`"clientURLs":${JSON.stringify(m.clientURLs)}`);
  return Buffer.from(`{${parts.join(',')}}`);
}

export function etcdMemberKey(id: number): Buffer {
  return Buffer.from(BigInt(id).toString(16));
}

/** raftpb.ConfState as etcd 3.5 stores it in meta/confState (encoding/json). */
export function encodeEtcdConfState(voters: number[], learners: number[]): Buffer {
  const parts = [];
  if (voters.length > 0) parts.push(`"voters":[${voters.map((v) => BigInt(v).toString()).join(',')}]`);
  if (learners.length > 0) parts.push(`"learners":[${learners.map((v) => BigInt(v).toString()).join(',')}]`);
  parts.push('"auto_leave":false');
  return Buffer.from(`{${parts.join(',')}}`);
}

// ---- authpb: the records of the authUsers and authRoles buckets (repeated fields)

/** Every field in order, repeated ones included (varints as bigint, length-delimited as bytes). */
function pbAll(b: Uint8Array): Array<[number, bigint | Buffer]> {
  const out: Array<[number, bigint | Buffer]> = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= b.length || shift > 63n) throw new Error('truncated protobuf varint');
      const x = b[i++]!;
      v |= BigInt(x & 0x7f) << shift;
      if (x < 0x80) return v;
    }
  };
  while (i < b.length) {
    const tag = Number(varint());
    const wire = tag & 7;
    if (wire === 0) out.push([tag >>> 3, varint()]);
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > b.length) throw new Error('truncated protobuf field');
      out.push([tag >>> 3, Buffer.from(b.subarray(i, i + len))]);
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

/** authpb.User as etcd stores it (password: the bcrypt hash bytes). */
export interface EtcdAuthUser {
  name: string;
  password: Buffer;
  roles: string[];
  noPassword: boolean;
}

export function encodeEtcdUser(u: EtcdAuthUser): Buffer {
  const w = new PbWriter().bytes(1, Buffer.from(u.name)).bytes(2, u.password);
  for (const r of u.roles) w.bytes(3, Buffer.from(r));
  // etcd always sets options (UserAdd fills a default), so the field is there even when empty.
  const options = new PbWriter().varint(1, u.noPassword ? 1 : 0).finish();
  return Buffer.concat([w.finish(), Buffer.from([(4 << 3) | 2, options.length]), options]);
}

export function decodeEtcdUser(b: Uint8Array): EtcdAuthUser {
  const u: EtcdAuthUser = { name: '', password: Buffer.alloc(0), roles: [], noPassword: false };
  for (const [f, v] of pbAll(b)) {
    if (f === 1) u.name = bytesOf(v).toString();
    else if (f === 2) u.password = bytesOf(v);
    else if (f === 3) u.roles.push(bytesOf(v).toString());
    else if (f === 4) u.noPassword = int(pbFields(bytesOf(v)).get(1)) !== 0;
  }
  return u;
}

/** authpb.Permission (permType READ 0, WRITE 1, READWRITE 2). */
export interface EtcdAuthPermission {
  permType: number;
  key: Buffer;
  rangeEnd: Buffer;
}

export interface EtcdAuthRole {
  name: string;
  perms: EtcdAuthPermission[];
}

export function encodeEtcdRole(r: EtcdAuthRole): Buffer {
  const w = new PbWriter().bytes(1, Buffer.from(r.name));
  for (const p of r.perms) w.bytes(2, new PbWriter().varint(1, p.permType).bytes(2, p.key).bytes(3, p.rangeEnd).finish());
  return w.finish();
}

export function decodeEtcdRole(b: Uint8Array): EtcdAuthRole {
  const r: EtcdAuthRole = { name: '', perms: [] };
  for (const [f, v] of pbAll(b)) {
    if (f === 1) r.name = bytesOf(v).toString();
    else if (f === 2) {
      const p = pbFields(bytesOf(v));
      r.perms.push({ permType: int(p.get(1)), key: bytesOf(p.get(2)), rangeEnd: bytesOf(p.get(3)) });
    }
  }
  return r;
}
