// The server side of TLS for a listening port (client port, peer port, an edge's port): a
// node:tls server whose secure context is read from PEM files and read again when they
// change (certificate reload without a restart, as etcd does), with etcd's meaning of
// --client-cert-auth (a client must present a certificate the trusted CA signed) and of
// --cipher-suites. Each verified connection's certificate names (CN, SANs) are kept by the
// connection's remote address, which is what grpc-js's call.getPeer() answers, so a handler
// can learn who is calling however the connection reached grpc-js (front-door.ts may hand
// grpc-js a wrapper of the socket, which getAuthContext() does not see through).
//
// Reload: etcd reads its certificate files on every handshake. Node offers no per-handshake
// hook for clients that send no SNI (gRPC clients dialling an IP do not), so the files are
// polled (fs.watchFile: stat only, survives a file replaced by rename) and a changed set is
// loaded into server.setSecureContext(), which new connections use. A set that does not
// load (a key that does not match the certificate while an operator is half-way through
// replacing both) keeps the previous one and is tried again at the next change.

import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext, createServer, type SecureContextOptions, type Server, type TLSSocket, type TlsOptions } from 'node:tls';

/** How often the certificate files are looked at for a change. */
export const TLS_RELOAD_POLL_MS = 1_000;
/** A change is loaded this long after the last file moved, so cert and key replaced together load as one. */
export const TLS_RELOAD_SETTLE_MS = 200;
/** A TLS handshake not done by then is dropped (a client that opens and stays silent holds nothing). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** etcd's minimum TLS version. */
const TLS_MIN_VERSION = 'TLSv1.2';

/** etcd's --cert-file, --key-file, --trusted-ca-file, --client-cert-auth (or the --peer-* ones). */
export interface TlsServerFiles {
  certFile: string;
  keyFile: string;
  /** CA bundle that signs client certificates (also used to verify them). */
  trustedCaFile?: string;
  /** Require and verify a client certificate (mTLS). */
  clientCertAuth: boolean;
  /** An OpenSSL cipher string (cipher-suites.ts); absent: Node's default. */
  ciphers?: string;
}

/** What a verified client certificate says about its holder. */
export interface PeerCertIdentity {
  commonName: string;
  /** URI SANs ("spiffe://...", "urn:regionstore:edge:dev1"). */
  uris: string[];
  dnsNames: string[];
}

/** Verified certificate names by remote address, as grpc-js's getPeer() spells it ("ip:port"). */
export class PeerIdentities {
  private readonly byPeer = new Map<string, PeerCertIdentity>();

  set(peer: string, id: PeerCertIdentity): void {
    this.byPeer.set(peer, id);
  }

  delete(peer: string): void {
    this.byPeer.delete(peer);
  }

  /** The identity of the connection `peer` (call.getPeer()) came on; undefined: no verified certificate. */
  of(peer: string): PeerCertIdentity | undefined {
    return this.byPeer.get(peer);
  }

  get size(): number {
    return this.byPeer.size;
  }
}

function read(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads the files into Node's options; throws with the file's name on a problem. */
export function loadTlsFiles(files: TlsServerFiles): SecureContextOptions {
  const opts: SecureContextOptions = {
    cert: read('certificate file', files.certFile),
    key: read('key file', files.keyFile),
    minVersion: TLS_MIN_VERSION,
    ...(files.trustedCaFile !== undefined ? { ca: read('trusted CA file', files.trustedCaFile) } : {}),
    ...(files.ciphers !== undefined ? { ciphers: files.ciphers } : {}),
  };
  try {
    // Parses the PEMs and checks the key matches the certificate, so a bad set fails here.
    createSecureContext(opts);
  } catch (err) {
    throw new Error(`TLS files ${files.certFile} / ${files.keyFile}${files.trustedCaFile ? ` / ${files.trustedCaFile}` : ''} do not load: ${(err as Error).message}`, { cause: err });
  }
  return opts;
}

/** SAN text ("DNS:a, IP Address:1.2.3.4, URI:x") → its parts. */
function sansOf(subjectaltname: string | undefined): { uris: string[]; dnsNames: string[] } {
  const uris: string[] = [];
  const dnsNames: string[] = [];
  for (const part of (subjectaltname ?? '').split(', ')) {
    if (part.startsWith('URI:')) uris.push(part.slice(4));
    else if (part.startsWith('DNS:')) dnsNames.push(part.slice(4));
  }
  return { uris, dnsNames };
}

export function identityOf(socket: TLSSocket): PeerCertIdentity | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (cert === null || typeof cert !== 'object' || cert.subject === undefined) return undefined;
  const cn = cert.subject.CN;
  return { commonName: Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? ''), ...sansOf(cert.subjectaltname) };
}

export interface TlsListenerEvents {
  /** The files changed and were loaded (new connections use them). */
  onReload?(): void;
  /** The files changed but did not load; the previous ones stay in use. */
  onReloadError?(err: Error): void;
  /** A handshake failed (no or wrong client certificate, wrong CA, a plaintext client). */
  onHandshakeError?(err: Error): void;
}

export interface TlsListener {
  readonly server: Server;
  readonly identities: PeerIdentities;
  /** Stops watching the files (the server itself is closed by its owner). */
  stopWatching(): void;
}

/**
 * ALPN of a port that serves gRPC and HTTP/1.1 (the client port): a client that offers
 * http/1.1 gets it (curl and browsers offer h2 first, and HTTP/2 there would reach gRPC,
 * which answers a GET with 415); a client offering only h2 (every gRPC client) gets h2.
 * The front door then sniffs the plaintext as on a plain port. A port with one protocol
 * offers just that.
 */
function alpnOption(alpn: string[]): Pick<TlsOptions, 'ALPNProtocols' | 'ALPNCallback'> {
  if (!(alpn.includes('h2') && alpn.includes('http/1.1'))) return { ALPNProtocols: alpn };
  return {
    ALPNCallback: ({ protocols }) => (protocols.includes('http/1.1') ? 'http/1.1' : protocols.includes('h2') ? 'h2' : undefined),
  };
}

/**
 * A TLS server for `files` whose verified sockets go to `onSocket`. `alpn`: the protocols
 * offered (h2 for gRPC; http/1.1 too where HTTP/1.1 is served). Throws when the files do
 * not load, so a member with a bad certificate does not start.
 */
export function createTlsListener(
  files: TlsServerFiles,
  alpn: string[],
  onSocket: (socket: TLSSocket) => void,
  events: TlsListenerEvents = {},
): TlsListener {
  const identities = new PeerIdentities();
  const base: TlsOptions = {
    ...loadTlsFiles(files),
    ...alpnOption(alpn),
    requestCert: files.clientCertAuth,
    rejectUnauthorized: files.clientCertAuth,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  };
  const server = createServer(base, (socket) => {
    const id = identityOf(socket);
    if (id !== undefined && socket.remoteAddress !== undefined) {
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      identities.set(peer, id);
      socket.once('close', () => identities.delete(peer));
    }
    onSocket(socket);
  });
  server.on('tlsClientError', (err) => events.onHandshakeError?.(err));
  let settle: NodeJS.Timeout | undefined;
  const reload = (): void => {
    clearTimeout(settle);
    settle = setTimeout(() => {
      try {
        server.setSecureContext(loadTlsFiles(files));
        events.onReload?.();
      } catch (err) {
        events.onReloadError?.(err as Error);
      }
    }, TLS_RELOAD_SETTLE_MS);
    settle.unref();
  };
  const watched = [files.certFile, files.keyFile, ...(files.trustedCaFile !== undefined ? [files.trustedCaFile] : [])];
  const onChange = (cur: { mtimeMs: number; ino: number; size: number }, prev: { mtimeMs: number; ino: number; size: number }): void => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) reload();
  };
  for (const f of watched) watchFile(f, { interval: TLS_RELOAD_POLL_MS, persistent: false }, onChange);
  return {
    server,
    identities,
    stopWatching: () => {
      clearTimeout(settle);
      for (const f of watched) unwatchFile(f, onChange);
    },
  };
}
