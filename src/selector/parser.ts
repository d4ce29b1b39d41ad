/**
 * Recursive-descent parser for Calico 2.x's selector grammar with hostfence's additions
 * (newlines as whitespace; `contains`, `starts with`, `ends with`):
 *
 * ```
 * selector   := ws* EOF | orExpr EOF
 * orExpr     := andExpr ( "||" andExpr )*
 * andExpr    := unary ( "&&" unary )*
 * unary      := "!"* primary                 (parity of the "!"s decides negation)
 * primary    := "all(" ws* ")" | "has(" ws* LABEL ws* ")" | "(" orExpr ")"
 *             | LABEL ("==" | "!=" | "contains" | "starts with" | "ends with") STRING
 *             | LABEL ("in" | "not" ws* "in") "{" [ STRING ( "," STRING )* ] "}"
 * ```
 *
 * Every failure is a SelectorSyntaxError naming what was expected and where.
 */
import { ALL_NODE, negate, normaliseSet, type SelectorNode, type ValueOp } from "./ast.ts";
import { Scanner } from "./tokenizer.ts";

/**
 * Deepest parenthesis nesting accepted. Parsing, canonicalising and evaluating all recurse
 * per level, so a bound keeps hostile input from ending in a stack overflow (a RangeError,
 * which would break the "only SelectorSyntaxError" promise); real selectors nest a few levels.
 */
export const MAX_NESTING = 200;

const OPERAND = 'expected a label key, "has(", "all()", "!" or "("';
const OPERATOR = 'expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with"';
const STRING = "expected a quoted string";

/** Parses selector text into its tree; throws SelectorSyntaxError and nothing else. */
export function parseSelectorAst(text: string): SelectorNode {
  const s = new Scanner(text);
  s.skipWhitespace();
  if (s.atEnd()) return ALL_NODE;
  const node = _or(s, 0);
  s.skipWhitespace();
  if (!s.atEnd()) _failAfterOperand(s, "the end of the selector");
  return node;
}

function _or(s: Scanner, depth: number): SelectorNode {
  return _joined(s, depth, "||", "or", _and);
}

function _and(s: Scanner, depth: number): SelectorNode {
  return _joined(s, depth, "&&", "and", _unary);
}

/** `operand ( op operand )*`: a single operand stands for itself, several make a `kind` node. */
function _joined(
  s: Scanner,
  depth: number,
  op: "||" | "&&",
  kind: "or" | "and",
  operand: (s: Scanner, depth: number) => SelectorNode,
): SelectorNode {
  const first = operand(s, depth);
  const operands = [first];
  for (;;) {
    s.skipWhitespace();
    if (!s.eat(op)) break;
    operands.push(operand(s, depth));
  }
  return operands.length === 1 ? first : { kind, operands };
}

function _unary(s: Scanner, depth: number): SelectorNode {
  let negated = false;
  for (;;) {
    s.skipWhitespace();
    if (!s.eat("!")) break;
    negated = !negated;
  }
  const node = _primary(s, depth);
  return negated ? negate(node) : node;
}

function _primary(s: Scanner, depth: number): SelectorNode {
  const start = s.pos;
  if (s.eat("(")) {
    if (depth >= MAX_NESTING) s.fail(`expected at most ${MAX_NESTING} nested parentheses`, start);
    const inner = _or(s, depth + 1);
    s.skipWhitespace();
    if (!s.eat(")")) _failAfterOperand(s, '")"');
    return inner;
  }
  // `has(` and `all(` win over a label named `has`/`all`, as in Calico; with a space before
  // the parenthesis they are labels (and then need an operator).
  if (s.eat("has(")) {
    s.skipWhitespace();
    const label = s.readLabel();
    if (label === undefined) s.fail("expected a label key");
    s.skipWhitespace();
    if (!s.eat(")")) s.fail('expected ")"');
    return { kind: "has", label };
  }
  if (s.eat("all(")) {
    s.skipWhitespace();
    if (!s.eat(")")) s.fail('expected ")"');
    return ALL_NODE;
  }
  const label = s.readLabel();
  if (label === undefined) s.fail(OPERAND);
  return _comparison(s, label);
}

function _comparison(s: Scanner, label: string): SelectorNode {
  s.skipWhitespace();
  let op: ValueOp | undefined;
  if (s.eat("==")) op = "eq";
  else if (s.eat("!=")) op = "ne";
  else if (s.peek() === 0x3d) s.fail('expected "=="'); // a lone "="
  else if (s.eatKeyword("contains")) op = "contains";
  else if (s.eatKeyword("starts", "with")) op = "startsWith";
  else if (s.eatKeyword("ends", "with")) op = "endsWith";
  if (op !== undefined) return { kind: op, label, value: s.readString(STRING) };
  if (s.eatKeyword("in")) return { kind: "in", label, values: _set(s) };
  if (s.eatKeyword("not", "in")) return { kind: "notIn", label, values: _set(s) };
  return s.fail(OPERATOR);
}

/** `{` [ STRING ( `,` STRING )* ] `}`; `{}` is legal (as in Calico). */
function _set(s: Scanner): readonly string[] {
  s.skipWhitespace();
  if (!s.eat("{")) s.fail('expected "{"');
  s.skipWhitespace();
  const values: string[] = [];
  if (s.eat("}")) return values;
  values.push(s.readString('expected a quoted string or "}"'));
  for (;;) {
    s.skipWhitespace();
    if (s.eat("}")) return normaliseSet(values);
    if (!s.eat(",")) s.fail('expected "," or "}"');
    values.push(s.readString(STRING));
  }
}

/** Explains what may follow a complete operand; lone `&`/`|` get the pointed message. */
function _failAfterOperand(s: Scanner, closer: string): never {
  const c = s.peek();
  if (c === 0x26) s.fail('expected "&&"');
  if (c === 0x7c) s.fail('expected "||"');
  return s.fail(`expected "&&", "||" or ${closer}`);
}
