// What a link does to the bytes and connections that cross it. A link is one proxy: the
// TCP connections one node opens to one peer, both byte directions of each.

export interface LinkPolicy {
  /**
   * Nothing passes, either way: bytes are dropped, a close is not passed on, new
   * connections are accepted and left silent. Like a dropped route, not a refusal: the
   * nodes find out only by their own timeouts (gRPC keepalive). A connection that lost
   * bytes is cut when the link passes again, so no stream ever resumes with a hole in it.
   */
  blackhole: boolean;
  /** Delay added to every chunk, ms; chunks keep their order. */
  delayMs: number;
  /** Further delay, uniform in [0, jitterMs), drawn per chunk from the seeded PRNG. */
  jitterMs: number;
  /** Percent [0, 100] of new connections reset at once. */
  refusePct: number;
  /** Bandwidth of each direction of each connection, bytes/s (a slow uplink); absent or 0: unlimited. */
  bytesPerSec?: number;
}

export const PASS: Readonly<LinkPolicy> = Object.freeze({ blackhole: false, delayMs: 0, jitterMs: 0, refusePct: 0 });

/** Throws on a policy that makes no sense, naming the field. */
export function validatePolicy(p: LinkPolicy): void {
  for (const f of ['delayMs', 'jitterMs'] as const) {
    if (!Number.isFinite(p[f]) || p[f] < 0) throw new RangeError(`link policy: ${f} must be >= 0, got ${p[f]}`);
  }
  if (p.bytesPerSec !== undefined && (!Number.isFinite(p.bytesPerSec) || p.bytesPerSec < 0)) {
    throw new RangeError(`link policy: bytesPerSec must be >= 0 (0: unlimited), got ${p.bytesPerSec}`);
  }
  if (!Number.isFinite(p.refusePct) || p.refusePct < 0 || p.refusePct > 100) {
    throw new RangeError(`link policy: refusePct must be in [0, 100], got ${p.refusePct}`);
  }
}
