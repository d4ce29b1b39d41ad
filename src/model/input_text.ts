/**
 * Turning the bytes of an input file into text before any parsing: input must be UTF-8.
 * A decoder that replaced bad bytes with U+FFFD would store the replacement characters
 * silently (issue 10), so decoding is strict and a bad byte is reported with its file, line
 * and column. Pure.
 */
import type { SourcePosition } from "./resources.ts";

/** Input that is not valid UTF-8; `position` is where its first bad byte is. */
export class InvalidUtf8Error extends Error {
  constructor(message: string, readonly position: SourcePosition, readonly offset: number) {
    super(message);
    this.name = "InvalidUtf8Error";
  }
}

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes `bytes` as UTF-8 (a leading byte order mark is dropped). Throws InvalidUtf8Error
 * naming `source`, line and column of the first byte that is not valid UTF-8.
 */
export function decodeInputBytes(bytes: Uint8Array, source: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const { line, column } = _lineColumn(bytes, offset);
    const byte = bytes[offset]!.toString(16).padStart(2, "0");
    throw new InvalidUtf8Error(
      `${source}:${line}:${column}: invalid UTF-8: byte 0x${byte} at offset ${offset} ` +
        "(input must be UTF-8 text)",
      { source, line, column },
      offset,
    );
  }
}

/**
 * Offset of the first byte that does not start a complete, valid UTF-8 sequence (overlong
 * forms, surrogates, values above U+10FFFF and cut-off sequences are invalid, as in the
 * WHATWG decoder), or -1 when all of `bytes` is valid.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < lo || c > hi) return i;
      lo = 0x80;
      hi = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}

/** 1-based line, and column in characters (UTF-16 units, as YAML positions count), of `offset`. */
function _lineColumn(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1, start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  const prefix = new TextDecoder().decode(bytes.subarray(start, offset));
  return { line, column: prefix.length + 1 };
}
