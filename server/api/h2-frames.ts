// The few HTTP/2 (RFC 9113) framing facts the client-port front door needs: frame header
// layout, the types and flags it looks at, and reassembly of a header block from a HEADERS
// frame and its CONTINUATION frames (padding and priority fields removed).

export const FRAME_HEADER_BYTES = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value: every peer accepts frames this large. */
export const FRAME_PAYLOAD_BYTES_DEFAULT = 16_384;
/** A header block larger than this is refused (Node's default maxHeaderListSize is 64 KiB). */
export const HEADER_BLOCK_BYTES_MAX = 256 * 1024;

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  ACK: 0x1,
  END_STREAM: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Bytes of a HEADERS frame's priority fields (stream dependency and weight). */
const PRIORITY_FIELD_BYTES = 5;

export class H2ProtocolError extends Error {}

export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

export function readFrameHeader(buf: Uint8Array, at: number): FrameHeader {
  return {
    length: (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!,
    type: buf[at + 3]!,
    flags: buf[at + 4]!,
    streamId: ((buf[at + 5]! & 0x7f) * 0x1000000) + ((buf[at + 6]! << 16) | (buf[at + 7]! << 8) | buf[at + 8]!),
  };
}

export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return h;
}

/** A header block put back together: what HEADERS and its CONTINUATIONs carried. */
export interface HeaderBlock {
  streamId: number;
  endStream: boolean;
  /** The 5 priority bytes of the HEADERS frame, when its PRIORITY flag was set. */
  priority: Buffer | undefined;
  fragment: Buffer;
}

/**
 * Collects one header block at a time. RFC 9113 §6.10: between a HEADERS frame without
 * END_HEADERS and the CONTINUATION that ends it, no other frame may arrive on the connection.
 */
export class HeaderBlockAssembler {
  private open: { streamId: number; endStream: boolean; priority: Buffer | undefined; parts: Buffer[]; bytes: number } | undefined;

  /** True while a block waits for CONTINUATION frames. */
  get inBlock(): boolean {
    return this.open !== undefined;
  }

  /** Takes a whole HEADERS or CONTINUATION frame; returns the block once it is complete. */
  add(h: FrameHeader, payload: Buffer): HeaderBlock | undefined {
    if (h.type === FrameType.HEADERS) {
      if (this.open !== undefined) throw new H2ProtocolError('HEADERS frame inside an unfinished header block');
      if (h.streamId === 0) throw new H2ProtocolError('HEADERS frame on stream 0');
      let start = 0;
      let padding = 0;
      if (h.flags & Flag.PADDED) {
        if (payload.length < 1) throw new H2ProtocolError('padded HEADERS frame without a pad length');
        padding = payload[0]!;
        start = 1;
      }
      let priority: Buffer | undefined;
      if (h.flags & Flag.PRIORITY) {
        priority = Buffer.from(payload.subarray(start, start + PRIORITY_FIELD_BYTES));
        start += PRIORITY_FIELD_BYTES;
      }
      if (start + padding > payload.length) throw new H2ProtocolError('HEADERS padding is longer than the frame');
      this.open = { streamId: h.streamId, endStream: (h.flags & Flag.END_STREAM) !== 0, priority, parts: [], bytes: 0 };
      return this.append(payload.subarray(start, payload.length - padding), h.flags);
    }
    if (h.type === FrameType.CONTINUATION) {
      if (this.open === undefined || this.open.streamId !== h.streamId) {
        throw new H2ProtocolError('CONTINUATION frame without a HEADERS frame on its stream');
      }
      return this.append(payload, h.flags);
    }
    throw new H2ProtocolError(`frame type ${h.type} given to the header block assembler`);
  }

  private append(part: Buffer, flags: number): HeaderBlock | undefined {
    const open = this.open!;
    open.parts.push(Buffer.from(part));
    open.bytes += part.length;
    if (open.bytes > HEADER_BLOCK_BYTES_MAX) throw new H2ProtocolError(`header block larger than ${HEADER_BLOCK_BYTES_MAX} bytes`);
    if ((flags & Flag.END_HEADERS) === 0) return undefined;
    this.open = undefined;
    return { streamId: open.streamId, endStream: open.endStream, priority: open.priority, fragment: Buffer.concat(open.parts) };
  }
}

/** A header block as HEADERS + CONTINUATION frames of at most `payloadMax` bytes, no padding. */
export function headerBlockFrames(b: HeaderBlock, payloadMax = FRAME_PAYLOAD_BYTES_DEFAULT): Buffer[] {
  const frames: Buffer[] = [];
  const prio = b.priority ?? Buffer.alloc(0);
  let pos = Math.min(b.fragment.length, payloadMax - prio.length);
  const first = b.fragment.subarray(0, pos);
  const flags = (b.endStream ? Flag.END_STREAM : 0) | (b.priority ? Flag.PRIORITY : 0) | (pos === b.fragment.length ? Flag.END_HEADERS : 0);
  frames.push(frameHeader(prio.length + first.length, FrameType.HEADERS, flags, b.streamId), prio, first);
  while (pos < b.fragment.length) {
    const end = Math.min(b.fragment.length, pos + payloadMax);
    frames.push(frameHeader(end - pos, FrameType.CONTINUATION, end === b.fragment.length ? Flag.END_HEADERS : 0, b.streamId));
    frames.push(b.fragment.subarray(pos, end));
    pos = end;
  }
  return frames;
}
