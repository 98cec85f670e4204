// From the TLS flags to what the listeners and dialers use: auto-TLS certificates made (or
// reused) under the data dir as etcd does (fixtures/client, fixtures/peer), --cipher-suites
// applied to both ports, and the files each side dials with. Async (auto-TLS runs openssl);
// the files are loaded, and so checked, when each listener starts.
import { join } from 'node:path';
import { ensureSelfSignedCert } from '../util/auto-tls.js';
import type { ClientTlsFiles } from '../util/tls-client.js';
import type { TlsServerFiles } from '../util/tls-server.js';
import type { PortTlsConfig, TlsConfig } from './tls-flags.js';
import type { ServeUrl } from './urls.js';

export interface ResolvedPortTls {
  /** The listener's files. */
  server: TlsServerFiles;
  /** What this member dials such a port with (its own certificate; the CA, or no verification with auto-TLS). */
  dial: ClientTlsFiles;
}

async function resolvePort(
  cfg: PortTlsConfig, ciphers: string | undefined, fixtures: string, urls: readonly ServeUrl[],
): Promise<ResolvedPortTls> {
  const auto = cfg.certFile === undefined;
  const files = auto ? await ensureSelfSignedCert(fixtures, urls.map((u) => u.host)) : { certFile: cfg.certFile as string, keyFile: cfg.keyFile as string };
  const server: TlsServerFiles = {
    ...files,
    // Auto-TLS is encryption only: etcd verifies no certificate then.
    clientCertAuth: auto ? false : cfg.clientCertAuth,
    ...(cfg.trustedCaFile !== undefined && !auto ? { trustedCaFile: cfg.trustedCaFile } : {}),
    ...(ciphers !== undefined ? { ciphers } : {}),
  };
  const dial: ClientTlsFiles = {
    ...files,
    ...(cfg.trustedCaFile !== undefined && !auto ? { caFile: cfg.trustedCaFile } : {}),
    ...(auto ? { insecureSkipVerify: true } : {}),
  };
  return { server, dial };
}

export async function resolveServeTls(
  tls: TlsConfig, dataDir: string, urls: { client: readonly ServeUrl[]; peer: readonly ServeUrl[] },
): Promise<{ client: ResolvedPortTls | undefined; peer: ResolvedPortTls | undefined }> {
  return {
    client: tls.client === undefined ? undefined : await resolvePort(tls.client, tls.ciphers, join(dataDir, 'fixtures', 'client'), urls.client),
    peer: tls.peer === undefined ? undefined : await resolvePort(tls.peer, tls.ciphers, join(dataDir, 'fixtures', 'peer'), urls.peer),
  };
}
