// etcdctl 3.4 (grpc-go 1.26) sends `:authority: http://127.0.0.1:2379` when its endpoints
// are written with a scheme. nghttp2, under Node's HTTP/2 server, checks :authority and
// host against RFC 3986's authority characters (nghttp2_check_authority), finds the '/',
// and resets the stream with PROTOCOL_ERROR before Node or grpc-js see it; Node has no
// option to turn that check off. etcd's Go server does not check, so etcdctl works there.
//
// This module repairs such a connection on its way in: it follows the client's frames,
// and re-encodes every header block with :authority/host reduced to host:port, as HPACK
// literals that never use the server's dynamic table (so the blocks decode the same
// whatever the client's encoder indexed). Every other frame passes through unchanged.
// The front door uses it only for connections whose first request needs it; all others
// are handed to grpc-js untouched.

import {
  CLIENT_PREFACE,
  FRAME_HEADER_BYTES,
  Flag,
  FrameType,
  H2ProtocolError,
  HeaderBlockAssembler,
  headerBlockFrames,
  readFrameHeader,
  type HeaderBlock,
} from './h2-frames.js';
import { HpackDecoder, encodeLiteralBlock, type HeaderField } from './hpack.js';

/** RFC 3986 authority octets as nghttp2 accepts them: unreserved, sub-delims, ':', '@', '[', ']', '%'. */
const AUTHORITY_OCTET = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@[]%") {
  AUTHORITY_OCTET[c.charCodeAt(0)] = 1;
}

export function isValidAuthority(value: Uint8Array): boolean {
  for (const b of value) if (AUTHORITY_OCTET[b] !== 1) return false;
  return true;
}

/**
 * What is left of an authority after the scheme ("http://h:p" → "h:p") and everything from
 * the first octet an authority cannot hold ("h:p/x" → "h:p"; brackets only around an IPv6
 * literal). etcd's clientv3 3.5.0 sent "#initially=[http://h:p]": that gives "h:p" too.
 * undefined when nothing is left.
 */
export function repairAuthority(value: Buffer): Buffer | undefined {
  const s = value.toString('latin1');
  const scheme = s.indexOf('://');
  const rest = Buffer.from(scheme >= 0 ? s.slice(scheme + 3) : s, 'latin1');
  const ipv6 = rest[0] === 0x5b; // '['
  const keeps = (b: number): boolean => AUTHORITY_OCTET[b] === 1 && (ipv6 || (b !== 0x5b && b !== 0x5d));
  const end = rest.findIndex((b) => !keeps(b));
  const kept = end < 0 ? rest : rest.subarray(0, end);
  return kept.length > 0 ? kept : undefined;
}

function isAuthorityField(name: string): boolean {
  return name === ':authority' || name === 'host';
}

/** True when a field of the block would make nghttp2 reset the stream for its authority. */
export function needsAuthorityRepair(fields: readonly HeaderField[]): boolean {
  return fields.some((f) => isAuthorityField(f.name) && !isValidAuthority(f.value));
}

/**
 * The fields with every :authority and host nghttp2 would refuse repaired; one with nothing
 * to keep becomes `fallback` (nghttp2 requires a request to carry :authority or host).
 */
export function repairFields(fields: readonly HeaderField[], fallback: Buffer): HeaderField[] {
  return fields.map((f) =>
    !isAuthorityField(f.name) || isValidAuthority(f.value) ? f : { ...f, value: repairAuthority(f.value) ?? fallback },
  );
}

export interface RewriterOptions {
  /** The authority to use when a value has nothing usable: the address the client connected to. */
  fallbackAuthority: string;
  /**
   * The front door answered the client's preface with a SETTINGS frame of its own; the
   * client's ACK of it must not reach the server, which never sent it.
   */
  dropFirstSettingsAck: boolean;
}

/**
 * The client→server byte stream of one HTTP/2 connection, from its first byte (the
 * preface), with header blocks repaired. push() returns what to pass on; slices of the
 * input where nothing changes, so DATA is not copied.
 */
export class ClientStreamRewriter {
  private readonly decoder = new HpackDecoder();
  private readonly assembler = new HeaderBlockAssembler();
  private pending: Buffer | undefined;
  /** Bytes still to pass unchanged: the rest of the preface, or of a frame being passed through. */
  private passBytes = CLIENT_PREFACE.length;
  private dropAck: boolean;
  private readonly fallback: Buffer;

  constructor(opts: RewriterOptions) {
    this.dropAck = opts.dropFirstSettingsAck;
    this.fallback = Buffer.from(opts.fallbackAuthority, 'latin1');
    if (!isValidAuthority(this.fallback)) throw new RangeError(`fallback authority ${opts.fallbackAuthority} is not valid`);
  }

  /** Throws H2ProtocolError or HpackError when the stream is not valid HTTP/2; the caller closes the connection. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let pos = 0;
    for (;;) {
      if (this.passBytes > 0) {
        const n = Math.min(this.passBytes, data.length - pos);
        if (n === 0) break;
        out.push(data.subarray(pos, pos + n));
        pos += n;
        this.passBytes -= n;
        continue;
      }
      if (data.length - pos < FRAME_HEADER_BYTES) break;
      const h = readFrameHeader(data, pos);
      const dropThisAck = this.dropAck && h.type === FrameType.SETTINGS && (h.flags & Flag.ACK) !== 0;
      const isHeaderFrame = h.type === FrameType.HEADERS || h.type === FrameType.CONTINUATION;
      if (this.assembler.inBlock && h.type !== FrameType.CONTINUATION) {
        throw new H2ProtocolError(`frame type ${h.type} inside an unfinished header block`);
      }
      if (!isHeaderFrame && !dropThisAck) {
        out.push(data.subarray(pos, pos + FRAME_HEADER_BYTES));
        pos += FRAME_HEADER_BYTES;
        this.passBytes = h.length;
        continue;
      }
      if (data.length - pos < FRAME_HEADER_BYTES + h.length) break;
      const payload = data.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + h.length);
      pos += FRAME_HEADER_BYTES + h.length;
      if (dropThisAck) {
        this.dropAck = false;
        continue;
      }
      const block = this.assembler.add(h, payload);
      if (block !== undefined) out.push(...this.rewrite(block));
    }
    if (pos < data.length) this.pending = Buffer.from(data.subarray(pos));
    return out;
  }

  private rewrite(block: HeaderBlock): Buffer[] {
    const fields = repairFields(this.decoder.decode(block.fragment), this.fallback);
    return headerBlockFrames({ ...block, fragment: encodeLiteralBlock(fields) });
  }
}
