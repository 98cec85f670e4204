// URL and address parsing for `regionstore serve`. Every parser returns a value or a
// sentence a person can act on; none throws.

/** A parsed `http://host:port` or `https://host:port` URL. `url` is the normal form: lower-case host, no trailing slash. */
export interface ServeUrl {
  url: string;
  /** https: the port speaks TLS (etcd's meaning of the scheme). */
  scheme: 'http' | 'https';
  /** Host as written, without IPv6 brackets. */
  host: string;
  port: number;
}

/** A parsed `host:port` address (for --metrics-addr). */
export interface HostPort {
  host: string;
  port: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export const PORT_MAX = 65_535;
const HOST = String.raw`(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)`;
const URL_RE = new RegExp(String.raw`^(https?)://${HOST}:(\d{1,5})/?$`, 'i');
const ADDR_RE = new RegExp(String.raw`^(?:http://)?${HOST}:(\d{1,5})/?$`);
const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Hosts a listener can bind by address (a hostname would need DNS at bind time). */
export function isBindableHost(host: string): boolean {
  return host === 'localhost' || IPV4_RE.test(host) || host.includes(':');
}

/** 0.0.0.0 and :: mean "every interface": fine to listen on, useless to advertise. */
export function isUnspecifiedHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || /^[0:]+$/.test(host);
}

function stripBrackets(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

function parsePort(text: string, allowZero: boolean): number | undefined {
  const port = Number(text);
  return Number.isInteger(port) && port <= PORT_MAX && (allowZero || port > 0) ? port : undefined;
}

/** One `http://host:port` or `https://host:port` URL. */
export function parseUrl(raw: string): Parsed<ServeUrl> {
  const text = raw.trim();
  const m = URL_RE.exec(text);
  if (m === null) {
    return { ok: false, error: `"${text}" is not of the form http://host:port or https://host:port (for example http://127.0.0.1:2379)` };
  }
  const port = parsePort(m[3] as string, false);
  if (port === undefined) return { ok: false, error: `"${text}" has port ${m[3]}; use a port from 1 to ${PORT_MAX}` };
  const scheme = (m[1] as string).toLowerCase() as ServeUrl['scheme'];
  const bracketed = (m[2] as string).toLowerCase();
  return { ok: true, value: { url: `${scheme}://${bracketed}:${port}`, scheme, host: stripBrackets(bracketed), port } };
}

/** A comma-separated list of URLs, at least one; duplicates are refused. */
export function parseUrlList(raw: string): Parsed<ServeUrl[]> {
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) return { ok: false, error: 'is empty; give at least one http://host:port URL' };
  const out: ServeUrl[] = [];
  for (const part of parts) {
    const r = parseUrl(part);
    if (!r.ok) return r;
    if (out.some((u) => u.url === r.value.url)) return { ok: false, error: `lists ${r.value.url} twice` };
    out.push(r.value);
  }
  return { ok: true, value: out };
}

/** `host:port` (an `http://` prefix is accepted too); port 0 lets the OS choose. */
export function parseHostPort(raw: string): Parsed<HostPort> {
  const text = raw.trim();
  const m = ADDR_RE.exec(text);
  if (m === null) return { ok: false, error: `"${text}" is not of the form host:port (for example 127.0.0.1:2381)` };
  const port = parsePort(m[2] as string, true);
  if (port === undefined) return { ok: false, error: `"${text}" has port ${m[2]}; use a port from 0 to ${PORT_MAX}` };
  return { ok: true, value: { host: stripBrackets((m[1] as string).toLowerCase()), port } };
}

export interface InitialMember {
  name: string;
  peerUrls: ServeUrl[];
}

/**
 * etcd's `--initial-cluster` syntax: `name=url,name=url`. A name may repeat to give a
 * member several peer URLs (`a=http://10.0.0.1:2380,a=http://10.0.1.1:2380`), as in etcd.
 */
export function parseInitialCluster(raw: string): Parsed<InitialMember[]> {
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) return { ok: false, error: 'is empty; give name=http://host:port pairs separated by commas' };
  const members: InitialMember[] = [];
  const owner = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) {
      return { ok: false, error: `has "${part}", which is not name=http://host:port (for example n1=http://127.0.0.1:2380)` };
    }
    const name = part.slice(0, eq).trim();
    const url = parseUrl(part.slice(eq + 1));
    if (!url.ok) return { ok: false, error: `member ${name}: ${url.error}` };
    const taken = owner.get(url.value.url);
    if (taken !== undefined) {
      return { ok: false, error: `gives ${url.value.url} to both ${taken} and ${name}; each peer URL belongs to one member` };
    }
    owner.set(url.value.url, name);
    const member = members.find((m) => m.name === name);
    if (member === undefined) members.push({ name, peerUrls: [url.value] });
    else member.peerUrls.push(url.value);
  }
  return { ok: true, value: members };
}
