// How rsctl prints: --write-out simple (etcdctl's plain lines: keys and values as raw
// bytes), json (one JSON document per answer, etcd's field names, keys and values in
// base64, 64-bit ids as exact JSON numbers, as `etcdctl -w json` prints them) or table.

import type { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';

export const WRITE_OUT_FORMATS = ['simple', 'json', 'table'] as const;
export type WriteOut = (typeof WRITE_OUT_FORMATS)[number];

/**
 * A 64-bit id (member, lease, cluster) printed as a bare JSON number with all its digits
 * (JSON.stringify cannot: a JS number loses precision above 2^53, a bigint throws).
 */
export class RawNumber {
  constructor(readonly digits: string) {
    if (!/^\d+$/.test(digits)) throw new RangeError(`not a decimal integer: ${digits}`);
  }
}

/** A marker no real string contains: RawNumber placeholders are swapped for digits after stringify. */
const RAW_MARK = `rsctl-raw-${randomBytes(6).toString('hex')}:`;
const RAW_RE = new RegExp(`"${RAW_MARK}(\\d+)"`, 'g');

export function toJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (v instanceof RawNumber ? `${RAW_MARK}${v.digits}` : v));
  return text.replace(RAW_RE, '$1');
}

/** Renders rows under headers with box lines, as etcdctl's table writer does. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[], center: boolean): string =>
    `|${widths.map((w, i) => {
      const c = cells[i] ?? '';
      if (!center) return ` ${c.padEnd(w)} `;
      const left = Math.floor((w - c.length) / 2);
      return ` ${' '.repeat(left)}${c}${' '.repeat(w - c.length - left)} `;
    }).join('|')}|`;
  return [rule, line(headers, true), rule, ...rows.map((r) => line(r, false)), rule].join('\n') + '\n';
}

export class Output {
  constructor(
    readonly format: WriteOut,
    private readonly stdout: Writable,
    private readonly stderr: Writable,
  ) {}

  /** Raw bytes or text to stdout, as given. */
  write(data: string | Uint8Array): void {
    this.stdout.write(data);
  }

  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  /** Bytes followed by a newline (a key or value in simple output). */
  bytesLine(b: Uint8Array): void {
    this.stdout.write(b);
    this.stdout.write('\n');
  }

  json(value: unknown): void {
    this.stdout.write(`${toJson(value)}\n`);
  }

  table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
    this.stdout.write(renderTable(headers, rows));
  }

  /** A note for the person at the terminal, never for the script reading stdout. */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }
}
