// TLS figures of a member's ports: refused handshakes (no or wrong client certificate, a
// certificate of another CA, a plaintext client on a TLS port) and certificate reloads.
// The port label is "client" or "peer"; nothing per connection or per address.

import { Counter, type Registry } from 'prom-client';

export type TlsPort = 'client' | 'peer';

export interface TlsMetrics {
  handshakeFailure(port: TlsPort): void;
  reload(port: TlsPort, ok: boolean): void;
}

export function registerTlsMetrics(registry: Registry, prefix = 'regionstore_'): TlsMetrics {
  const registers = [registry];
  const failures = new Counter({
    name: prefix + 'tls_handshake_failures_total', help: 'TLS handshakes refused on a port (no or untrusted client certificate, plaintext, bad cipher), by port.',
    labelNames: ['port'], registers,
  });
  const reloads = new Counter({
    name: prefix + 'tls_reloads_total', help: 'Certificate files seen changed on a port, by port and result (loaded, or kept the previous ones).',
    labelNames: ['port', 'result'], registers,
  });
  return {
    handshakeFailure: (port) => failures.inc({ port }),
    reload: (port, ok) => reloads.inc({ port, result: ok ? 'loaded' : 'failed' }),
  };
}
