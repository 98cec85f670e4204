// A small JSON reader for the gateway's request bodies. Two reasons not to use JSON.parse:
//  - numbers keep their source text, so an int64 written as a bare JSON number (a lease ID
//    or revision near 2^63) is read exactly, as Go's decoder reads it;
//  - a body holds a sequence of values (a watch stream sends one request per value, and
//    etcd's gateway reads only the first value of a unary call's body), so the reader
//    parses one value at a time and says where it ended, or that it needs more text.
// Error texts are Go's encoding/json ones, which etcd's gateway answers with.

/** A JSON number, kept as its source text (e.g. "7587862072907483000", "-1", "1.5e3"). */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

/** Nesting deeper than this is refused (a request message of etcd is at most a few levels deep, Txn nesting aside). */
export const JSON_DEPTH_MAX = 512;

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

/** Thrown when the text ends inside a value: with more body to come, wait for it. */
export class JsonIncompleteError extends JsonSyntaxError {
  override name = 'JsonIncompleteError';
  constructor() {
    super('unexpected end of JSON input');
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** Index of the first non-whitespace character at or after `pos` (text.length when none). */
export function skipWhitespace(text: string, pos: number): number {
  while (pos < text.length && WS.has(text[pos]!)) pos++;
  return pos;
}

/**
 * Parses one JSON value starting at `pos` (after optional whitespace). `final`: no more
 * text will come, so a number that reaches the end of `text` is complete.
 */
export function parseJsonValue(text: string, pos: number, final = true): { value: JsonValue; end: number } {
  const p = new Parser(text, final);
  p.pos = pos;
  const value = p.value(0, 'looking for beginning of value');
  return { value, end: p.pos };
}

function describe(ch: string): string {
  return ch === "'" ? "'\\''" : `'${ch}'`;
}

class Parser {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly final: boolean,
  ) {}

  private peek(): string {
    this.pos = skipWhitespace(this.text, this.pos);
    if (this.pos >= this.text.length) throw new JsonIncompleteError();
    return this.text[this.pos]!;
  }

  private fail(context: string): never {
    throw new JsonSyntaxError(`invalid character ${describe(this.text[this.pos]!)} ${context}`);
  }

  value(depth: number, context: string): JsonValue {
    if (depth > JSON_DEPTH_MAX) throw new JsonSyntaxError(`exceeded max depth of ${JSON_DEPTH_MAX}`);
    const ch = this.peek();
    if (ch === '{') return this.object(depth);
    if (ch === '[') return this.array(depth);
    if (ch === '"') return this.string();
    if (ch === '-' || (ch >= '0' && ch <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
      if (word.startsWith(this.text.slice(this.pos)) && this.pos + word.length > this.text.length) throw new JsonIncompleteError();
    }
    if (ch === 't' || ch === 'f' || ch === 'n') {
      // A literal that goes wrong part way: Go names the first wrong character.
      const word = ch === 't' ? 'true' : ch === 'f' ? 'false' : 'null';
      let i = 0;
      while (this.text[this.pos + i] === word[i]) i++;
      this.pos += i;
      this.fail(`in literal ${word} (expecting ${describe(word[i]!)})`);
    }
    this.fail(context);
  }

  private object(depth: number): { [key: string]: JsonValue } {
    this.pos++;
    const out: { [key: string]: JsonValue } = {};
    if (this.peek() === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.peek() !== '"') this.fail('looking for beginning of object key string');
      const key = this.string();
      if (this.peek() !== ':') this.fail('after object key');
      this.pos++;
      out[key] = this.value(depth + 1, 'looking for beginning of value');
      const next = this.peek();
      this.pos++;
      if (next === '}') return out;
      if (next !== ',') {
        this.pos--;
        this.fail('after object key:value pair');
      }
    }
  }

  private array(depth: number): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    if (this.peek() === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1, 'looking for beginning of value'));
      const next = this.peek();
      this.pos++;
      if (next === ']') return out;
      if (next !== ',') {
        this.pos--;
        this.fail('after array element');
      }
    }
  }

  private string(): string {
    const start = this.pos;
    let i = start + 1;
    let simple = true;
    for (;;) {
      if (i >= this.text.length) throw new JsonIncompleteError();
      const c = this.text.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        simple = false;
        i += 2;
        continue;
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail('in string literal');
      }
      i++;
    }
    this.pos = i + 1;
    const raw = this.text.slice(start, i + 1);
    if (simple) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      this.pos = start;
      throw new JsonSyntaxError('invalid character in string escape code');
    }
  }

  private number(): JsonNumber {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (m === null) {
      this.pos++;
      if (this.pos >= this.text.length) throw new JsonIncompleteError();
      this.fail('in numeric literal');
    }
    const end = this.pos + m[0].length;
    // "1." or "1e" at the end of the text so far may continue in the next chunk.
    if (end >= this.text.length && !this.final) throw new JsonIncompleteError();
    if (end < this.text.length && /[.eE+-]/.test(this.text[end]!)) {
      this.pos = end;
      this.fail('in numeric literal');
    }
    this.pos = end;
    return new JsonNumber(m[0]);
  }
}
