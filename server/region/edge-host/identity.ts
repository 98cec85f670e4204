// An edge's identity from its client certificate (DESIGN §10: an edge authenticates with a
// client certificate naming its device). The names a certificate gives a device:
//   - its CN, as `edge:<device>` (or the bare device id, DESIGN's "CN = device id");
//   - a URI SAN `urn:regionstore:edge:<device>`.
// A session whose HELLO claims a device the certificate does not name claims another
// edge's origin: refused as forged-origin, counted and logged, nothing of it applied.

/** A verified client certificate's names (server/util/tls-server.ts's PeerCertIdentity, structurally). */
export interface EdgeCertificate {
  commonName: string;
  uris: readonly string[];
}

export const EDGE_CN_PREFIX = 'edge:';
export const EDGE_URI_PREFIX = 'urn:regionstore:edge:';

/** The device ids a certificate names. */
export function devicesNamedBy(cert: EdgeCertificate): string[] {
  const out = new Set<string>();
  const cn = cert.commonName;
  if (cn !== '') out.add(cn.startsWith(EDGE_CN_PREFIX) ? cn.slice(EDGE_CN_PREFIX.length) : cn);
  for (const u of cert.uris) if (u.startsWith(EDGE_URI_PREFIX)) out.add(u.slice(EDGE_URI_PREFIX.length));
  return [...out];
}

/** undefined when `device` may speak on a stream with `cert` (none: no TLS identity to hold it to); else why not. */
export function certificateRefusal(cert: EdgeCertificate | undefined, device: string): string | undefined {
  if (cert === undefined) return undefined;
  const named = devicesNamedBy(cert);
  if (named.includes(device)) return undefined;
  return `the HELLO claims device ${JSON.stringify(device)} but the client certificate (CN ${JSON.stringify(cert.commonName)}) names ` +
    `${named.length === 0 ? 'no device' : named.map((d) => JSON.stringify(d)).join(', ')}: an edge syncs only as itself (CN edge:<device> or URI SAN ${EDGE_URI_PREFIX}<device>)`;
}
