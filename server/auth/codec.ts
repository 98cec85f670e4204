// The encodings of the auth state (one record in the state keyspace) and of an Auth
// command (a Raft entry's body): JSON with a version field, byte strings in hex. Small,
// rare records an operator can read in a dump; decoding checks the shape so a damaged
// record fails loudly.

import { PermType, type AuthCommand, type Permission, type Role, type User } from './types.js';
import type { AuthStateData } from './store.js';

const FORMAT_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) throw new Error(`auth record: bad hex ${JSON.stringify(s.slice(0, 20))}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

interface WirePerm {
  t: number;
  k: string;
  e: string;
}

function permToWire(p: Permission): WirePerm {
  return { t: p.permType, k: toHex(p.key), e: toHex(p.rangeEnd) };
}

function permFromWire(w: WirePerm): Permission {
  if (w.t !== PermType.Read && w.t !== PermType.Write && w.t !== PermType.ReadWrite) throw new Error(`auth record: bad permission type ${w.t}`);
  return { permType: w.t, key: fromHex(w.k), rangeEnd: fromHex(w.e) };
}

export function encodeAuthState(s: AuthStateData): Uint8Array {
  return encoder.encode(JSON.stringify({
    v: FORMAT_VERSION,
    enabled: s.enabled,
    revision: s.revision,
    users: s.users,
    roles: s.roles.map((r) => ({ name: r.name, perms: r.perms.map(permToWire) })),
  }));
}

export function decodeAuthState(bytes: Uint8Array): AuthStateData {
  const raw = JSON.parse(decoder.decode(bytes)) as {
    v: number; enabled: boolean; revision: number; users: User[]; roles: Array<{ name: string; perms: WirePerm[] }>;
  };
  if (raw.v !== FORMAT_VERSION) throw new Error(`auth record: unknown format version ${raw.v}`);
  if (typeof raw.enabled !== 'boolean' || !Number.isSafeInteger(raw.revision) || !Array.isArray(raw.users) || !Array.isArray(raw.roles)) {
    throw new Error('auth record: damaged (missing enabled, revision, users or roles)');
  }
  const roles: Role[] = raw.roles.map((r) => ({ name: String(r.name), perms: r.perms.map(permFromWire) }));
  const users: User[] = raw.users.map((u) => ({
    name: String(u.name), password: String(u.password), roles: u.roles.map(String), noPassword: u.noPassword === true,
  }));
  return { enabled: raw.enabled, revision: raw.revision, users, roles };
}

export function encodeAuthCommand(cmd: AuthCommand): Uint8Array {
  const wire: Record<string, unknown> = { v: FORMAT_VERSION, ...cmd };
  if (cmd.op === 'role-grant-permission') wire['perm'] = permToWire(cmd.perm);
  if (cmd.op === 'role-revoke-permission') {
    wire['key'] = toHex(cmd.key);
    wire['rangeEnd'] = toHex(cmd.rangeEnd);
  }
  return encoder.encode(JSON.stringify(wire));
}

/** Decodes a command from the log; its content is checked when applied (store.ts). */
export function decodeAuthCommand(bytes: Uint8Array): AuthCommand {
  const raw = JSON.parse(decoder.decode(bytes)) as Record<string, unknown>;
  if (raw['v'] !== FORMAT_VERSION) throw new Error(`auth command: unknown format version ${String(raw['v'])}`);
  delete raw['v'];
  if (raw['op'] === 'role-grant-permission') raw['perm'] = permFromWire(raw['perm'] as WirePerm);
  if (raw['op'] === 'role-revoke-permission') {
    raw['key'] = fromHex(String(raw['key']));
    raw['rangeEnd'] = fromHex(String(raw['rangeEnd']));
  }
  const ops = ['enable', 'disable', 'user-add', 'user-delete', 'user-change-password', 'user-grant-role', 'user-revoke-role',
    'role-add', 'role-delete', 'role-grant-permission', 'role-revoke-permission', 'authenticate'];
  if (!ops.includes(String(raw['op']))) throw new Error(`auth command: unknown op ${String(raw['op'])}`);
  return raw as unknown as AuthCommand;
}
