/**
 * The one error the selector module raises on bad input. It lives apart from `mod.ts` so the
 * scanner and parser can throw it without importing the module's public face (which imports
 * them), and carries the selector text and the failing offset for callers that point at it.
 */
import { quote } from "../log/quote.ts";

/** A selector that does not parse; `position` is the 0-based character offset. */
export class SelectorSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly selector: string,
    readonly position: number,
  ) {
    super(message);
    this.name = "SelectorSyntaxError";
  }
}

/**
 * Builds the error with the module's message shape:
 * `Selector "role = 'db'" is invalid at position 5: expected "=="`. The selector is quoted as
 * a JSON string so newlines and quotes inside it stay visible on one log line, and cut
 * when long (see quote.ts).
 */
export function selectorSyntaxError(
  selector: string,
  position: number,
  expected: string,
): SelectorSyntaxError {
  return new SelectorSyntaxError(
    `Selector ${quote(selector)} is invalid at position ${position}: ${expected}`,
    selector,
    position,
  );
}
