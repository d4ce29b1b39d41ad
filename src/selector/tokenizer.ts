/**
 * A character scanner the parser drives token by token. Calico tokenised the whole selector
 * up front, so a label such as `in-zone` came out as the keyword `in` wherever it stood; here
 * the parser asks for the kind of token the grammar allows at each point (a label where an
 * operand starts, an operator after a label), which is what lets keys beginning with `in` or
 * `not` stand on the left of a comparison.
 */
import { selectorSyntaxError } from "./errors.ts";

/** Longest label key the grammar accepts (Calico's `LABEL` token). */
export const MAX_LABEL_LENGTH = 512;

/**
 * Space, tab, LF, CR and form feed. Calico skipped only space and tab between tokens (and
 * allowed Go's `\s`, which adds LF, CR and FF, inside `has( )`, `all( )` and `not in`); hostfence
 * treats the same set as whitespace everywhere, so selectors written over several YAML lines
 * parse.
 */
export function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0c;
}

/** `[a-zA-Z0-9_./-]`: the characters of a label key. */
export function isLabelChar(code: number): boolean {
  return _isWordChar(code) || code === 0x2e || code === 0x2f || code === 0x2d;
}

/** `[a-zA-Z0-9_]`: what Go's `\b` treats as a word character, for keyword boundaries. */
function _isWordChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) || code === 0x5f;
}

/** Reads a selector left to right; every method that consumes leaves `pos` after it. */
export class Scanner {
  /** The 0-based offset of the next unread character. */
  pos = 0;

  constructor(readonly text: string) {}

  /** Fails at `at` (default: here) saying what was expected. */
  fail(expected: string, at: number = this.pos): never {
    throw selectorSyntaxError(this.text, at, expected);
  }

  skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length && isWhitespace(t.charCodeAt(this.pos))) this.pos++;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** The character code at `pos + ahead`, or -1 past the end. */
  peek(ahead = 0): number {
    const i = this.pos + ahead;
    return i < this.text.length ? this.text.charCodeAt(i) : -1;
  }

  /** Consumes `literal` if the text continues with it. */
  eat(literal: string): boolean {
    if (!this.text.startsWith(literal, this.pos)) return false;
    this.pos += literal.length;
    return true;
  }

  /**
   * Consumes a keyword made of `words` separated by optional whitespace (`not in`, `notin`,
   * `starts with`) when no word character follows it, like Go's `\b`. Leaves `pos` unchanged
   * when it does not match.
   */
  eatKeyword(...words: string[]): boolean {
    const start = this.pos;
    for (let i = 0; i < words.length; i++) {
      if (i > 0) this.skipWhitespace();
      if (!this.eat(words[i] as string)) {
        this.pos = start;
        return false;
      }
    }
    if (_isWordChar(this.peek())) {
      this.pos = start;
      return false;
    }
    return true;
  }

  /** Reads a label key, or returns undefined (consuming nothing) when none starts here. */
  readLabel(): string | undefined {
    const start = this.pos;
    const t = this.text;
    let end = start;
    while (end < t.length && isLabelChar(t.charCodeAt(end))) end++;
    if (end === start) return undefined;
    if (end - start > MAX_LABEL_LENGTH) {
      this.fail(`expected a label key of at most ${MAX_LABEL_LENGTH} characters`, start);
    }
    this.pos = end;
    return t.slice(start, end);
  }

  /**
   * Reads a quoted string after optional whitespace. Strings have no escapes: a string runs
   * to the next copy of its opening quote, so `"it's"` and `'say "hi"'` are fine and a
   * string cannot contain its own quote character (as in Calico).
   */
  readString(expected: string): string {
    this.skipWhitespace();
    const quote = this.peek();
    if (quote !== 0x22 && quote !== 0x27) this.fail(expected);
    const open = this.pos;
    const close = this.text.indexOf(quote === 0x22 ? '"' : "'", open + 1);
    if (close < 0) {
      this.fail(`expected a closing ${quote === 0x22 ? "'\"'" : `"'"`} for the string`, open);
    }
    this.pos = close + 1;
    return this.text.slice(open + 1, close);
  }
}
