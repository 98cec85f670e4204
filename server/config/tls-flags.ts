// The TLS flags of `regionstore serve`, etcd's names and meanings: --cert-file --key-file
// --trusted-ca-file --client-cert-auth --auto-tls for the client port, the --peer-* ones for
// the peer port, and --cipher-suites for both. `https://` in a URL turns TLS on for that
// port; a port whose URLs mix http:// and https:// is refused (DESIGN §10), as is https://
// without a certificate (or auto-TLS). Read by serve-flags.ts; kept apart so the TLS rules
// are in one place (the flags themselves are TLS_FLAGS in flag-table.ts).
import { parseCipherSuites } from '../util/cipher-suites.js';
import type { FlagKey } from './flag-table.js';
import type { InitialMember, ServeUrl } from './urls.js';


/** The TLS of one port as configured (the files are read when the port starts). */
export interface PortTlsConfig {
  certFile?: string;
  keyFile?: string;
  trustedCaFile?: string;
  clientCertAuth: boolean;
  autoTls: boolean;
}

export interface TlsConfig {
  /** undefined: the client port is plaintext (http:// URLs). */
  client: PortTlsConfig | undefined;
  /** undefined: the peer port is plaintext. */
  peer: PortTlsConfig | undefined;
  /** OpenSSL cipher string from --cipher-suites; undefined: Node's default. */
  ciphers: string | undefined;
}

/** What tls-flags needs of serve-flags' reader. */
export interface TlsFlagReader {
  given(key: FlagKey): boolean;
  text(key: FlagKey, fallback: string): string;
  oneOf<T extends string>(key: FlagKey, allowed: readonly T[], fallback: T): T;
  fail(key: FlagKey, message: string): void;
}

type Keys = { cert: FlagKey; key: FlagKey; ca: FlagKey; certAuth: FlagKey; auto: FlagKey; urls: FlagKey };
const CLIENT: Keys = { cert: 'certFile', key: 'keyFile', ca: 'trustedCaFile', certAuth: 'clientCertAuth', auto: 'autoTls', urls: 'listenClientUrls' };
const PEER: Keys = { cert: 'peerCertFile', key: 'peerKeyFile', ca: 'peerTrustedCaFile', certAuth: 'peerClientCertAuth', auto: 'peerAutoTls', urls: 'listenPeerUrls' };

/** Whether a set of URLs is all-TLS; a mix is refused on `key`. */
function schemeOf(r: TlsFlagReader, key: FlagKey, urls: readonly ServeUrl[], what: string): boolean {
  const https = urls.filter((u) => u.scheme === 'https').length;
  if (https > 0 && https < urls.length) {
    r.fail(key, `mixes http:// and https:// (${urls.map((u) => u.url).join(',')}); a ${what} port is either TLS or not: use one scheme`);
  }
  return https > 0;
}

function readPort(r: TlsFlagReader, k: Keys, tls: boolean, what: string, warnings: string[]): PortTlsConfig | undefined {
  const bool = (key: FlagKey): boolean => r.oneOf(key, ['true', 'false'], 'false') === 'true';
  const cfg: PortTlsConfig = { clientCertAuth: bool(k.certAuth), autoTls: bool(k.auto) };
  if (r.given(k.cert)) cfg.certFile = r.text(k.cert, '');
  if (r.given(k.key)) cfg.keyFile = r.text(k.key, '');
  if (r.given(k.ca)) cfg.trustedCaFile = r.text(k.ca, '');
  const p = k === PEER ? 'peer-' : '';
  if (cfg.certFile !== undefined && cfg.keyFile === undefined) r.fail(k.cert, `needs --${p}key-file, the certificate's key`);
  if (cfg.certFile === undefined && cfg.keyFile !== undefined) r.fail(k.key, `needs --${p}cert-file, the key's certificate`);
  const hasFiles = cfg.certFile !== undefined || cfg.trustedCaFile !== undefined || cfg.clientCertAuth;
  if (!tls) {
    if (hasFiles || cfg.autoTls) warnings.push(`${what} TLS flags are given but the ${what} URLs are http://: the ${what} port serves plaintext (use https:// URLs for TLS)`);
    return undefined;
  }
  if (cfg.certFile === undefined && !cfg.autoTls) {
    r.fail(k.urls, `use https:// but no certificate is given: give --${p}cert-file and --${p}key-file, or --${p}auto-tls`);
  }
  if (cfg.clientCertAuth && cfg.trustedCaFile === undefined) {
    r.fail(k.certAuth, `needs --${p}trusted-ca-file: the CA that signs the certificates to accept`);
  }
  if (cfg.autoTls && cfg.certFile !== undefined) warnings.push(`--${p}auto-tls is ignored: --${p}cert-file is given`);
  return cfg;
}

/** Reads the TLS flags against the parsed URLs; problems go to `r.fail`, notes to `warnings`. */
export function readTlsFlags(
  r: TlsFlagReader,
  urls: { listenClient: ServeUrl[]; advertiseClient: ServeUrl[]; listenPeer: ServeUrl[]; advertisePeer: ServeUrl[]; initialCluster: InitialMember[] | undefined },
  warnings: string[],
): TlsConfig {
  const clientTls = schemeOf(r, 'listenClientUrls', urls.listenClient, 'client');
  const peerTls = schemeOf(r, 'listenPeerUrls', urls.listenPeer, 'peer');
  if (urls.advertiseClient.some((u) => (u.scheme === 'https') !== clientTls)) {
    r.fail('advertiseClientUrls', `must use the listen client URLs' scheme (${clientTls ? 'https' : 'http'}://): clients would dial the wrong protocol`);
  }
  const peerUrls = [...urls.advertisePeer, ...(urls.initialCluster ?? []).flatMap((m) => m.peerUrls)];
  const wrong = peerUrls.filter((u) => (u.scheme === 'https') !== peerTls);
  if (wrong.length > 0) {
    r.fail(urls.initialCluster !== undefined ? 'initialCluster' : 'initialAdvertisePeerUrls',
      `has ${wrong.map((u) => u.url).join(',')} but the listen peer URLs are ${peerTls ? 'https' : 'http'}://: every member's peer port is TLS or none is`);
  }
  let ciphers: string | undefined;
  if (r.given('cipherSuites')) {
    const parsed = parseCipherSuites(r.text('cipherSuites', ''));
    if (parsed.ok) ciphers = parsed.ciphers;
    else r.fail('cipherSuites', parsed.error);
  }
  return {
    client: readPort(r, CLIENT, clientTls, 'client', warnings),
    peer: readPort(r, PEER, peerTls, 'peer', warnings),
    ciphers,
  };
}
