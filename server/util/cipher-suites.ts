// etcd's --cipher-suites takes Go's crypto/tls names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
// Node's TLS takes OpenSSL's (ECDHE-RSA-AES128-GCM-SHA256). This table maps the names
// Go knows to OpenSSL's, so an etcd operator's list works unchanged. As in Go, the list
// governs TLS 1.2 only: TLS 1.3's suites are not configurable there, so they stay on here.

import { createSecureContext } from 'node:tls';

/** Go crypto/tls cipher suite name → OpenSSL name (every suite Go 1.16+ names). */
const GO_TO_OPENSSL: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** TLS 1.3's suites, which Go (and so etcd) always offers whatever --cipher-suites says. */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

function opensslHas(name: string): boolean {
  try {
    // TLS 1.3 suites keep the context valid; only `name` is on trial for TLS 1.2.
    createSecureContext({ ciphers: `${TLS13_SUITES[0]}:${name}` });
    return true;
  } catch {
    return false;
  }
}

export type CipherParse = { ok: true; ciphers: string } | { ok: false; error: string };

/**
 * etcd's comma-separated --cipher-suites → an OpenSSL cipher string for Node's `ciphers`
 * option, or a sentence naming the unknown suites and the known ones.
 */
export function parseCipherSuites(text: string): CipherParse {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return { ok: false, error: 'is empty; give Go cipher suite names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' };
  const unknown = names.filter((n) => GO_TO_OPENSSL[n] === undefined);
  if (unknown.length > 0) {
    return {
      ok: false,
      error: `unknown cipher suite${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known (Go's names, as etcd takes them): ${Object.keys(GO_TO_OPENSSL).join(', ')}`,
    };
  }
  // Go knows suites this Node's OpenSSL refuses (OpenSSL 3 drops RC4 and 3DES): named here, not at the first handshake.
  const unsupported = names.filter((n) => !opensslHas(GO_TO_OPENSSL[n] as string));
  if (unsupported.length > 0) {
    return { ok: false, error: `${unsupported.join(', ')} ${unsupported.length > 1 ? 'are' : 'is'} not available in this Node's OpenSSL (${process.versions.openssl}); choose ECDHE suites with AES-GCM or CHACHA20` };
  }
  const openssl = [...new Set(names.map((n) => GO_TO_OPENSSL[n] as string))];
  return { ok: true, ciphers: [...TLS13_SUITES, ...openssl].join(':') };
}
