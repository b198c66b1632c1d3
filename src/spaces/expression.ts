/**
 * The constraint language of search spaces: arithmetic, comparison and boolean expressions over decision values,
 * e.g. `d_model % n_heads == 0 && d_model / n_heads >= 8` or `attention == 'local'`. Parsed once into a closure;
 * nothing is ever passed to `eval`.
 *
 * Grammar (lowest precedence first): `||`, `&&`, `== !=`, `< <= > >=`, `+ -`, `* / %`, unary `! -`, atoms
 * (numbers, 'strings' or "strings", true/false, identifiers, parentheses). A name with no value in scope (an inactive
 * decision) is `undefined`, and comparisons with it are false.
 */
export type Scope = Readonly<Record<string, unknown>>;
export type Expression = (scope: Scope) => unknown;

export class ExpressionError extends Error {
  override name = "ExpressionError";
}

type Token = { kind: "num"; value: number } | { kind: "str"; value: string } | { kind: "id"; value: string } | { kind: "op"; value: string };

const OPERATORS = ["||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "!", "(", ")"];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (/[0-9.]/.test(ch)) {
      const m = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(source.slice(i))!;
      tokens.push({ kind: "num", value: Number(m[0]) });
      i += m[0].length;
    } else if (ch === "'" || ch === '"') {
      const end = source.indexOf(ch, i + 1);
      if (end < 0) throw new ExpressionError(`unterminated string in '${source}'`);
      tokens.push({ kind: "str", value: source.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(ch)) {
      // `train.<option>` is one name: a training setting decided with the architecture (training-decisions.ts).
      const m = /^(train\.)?[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))!;
      tokens.push({ kind: "id", value: m[0] });
      i += m[0].length;
    } else {
      const op = OPERATORS.find((o) => source.startsWith(o, i));
      if (!op) throw new ExpressionError(`unexpected '${ch}' in '${source}'`);
      tokens.push({ kind: "op", value: op });
      i += op.length;
    }
  }
  return tokens;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- operands are any JSON value; `<`, `+` are not defined on `unknown`
const BINARY: Array<Record<string, (a: any, b: any) => unknown>> = [
  { "||": (a, b) => Boolean(a) || Boolean(b) },
  { "&&": (a, b) => Boolean(a) && Boolean(b) },
  { "==": (a, b) => a !== undefined && a === b, "!=": (a, b) => a !== undefined && b !== undefined && a !== b },
  { "<": (a, b) => a < b, "<=": (a, b) => a <= b, ">": (a, b) => a > b, ">=": (a, b) => a >= b },
  { "+": (a, b) => a + b, "-": (a, b) => a - b },
  { "*": (a, b) => a * b, "/": (a, b) => a / b, "%": (a, b) => a % b },
];

export function parseExpression(source: string): Expression {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (what: string): never => {
    throw new ExpressionError(`${what} in '${source}'`);
  };

  const binary = (level: number): Expression => {
    if (level === BINARY.length) return unary();
    let left = binary(level + 1);
    for (;;) {
      const t = peek();
      const fn = t?.kind === "op" ? BINARY[level]![t.value] : undefined;
      if (!fn) return left;
      pos++;
      const l = left;
      const r = binary(level + 1);
      left = (s) => fn(l(s), r(s));
    }
  };
  const unary = (): Expression => {
    const t = peek();
    if (t?.kind === "op" && (t.value === "!" || t.value === "-")) {
      pos++;
      const inner = unary();
      return t.value === "!" ? (s) => !inner(s) : (s) => -(inner(s) as number);
    }
    return atom();
  };
  const atom = (): Expression => {
    const t = tokens[pos++];
    if (!t) return fail("unexpected end");
    if (t.kind === "num" || t.kind === "str") return () => t.value;
    if (t.kind === "id") {
      if (t.value === "true") return () => true;
      if (t.value === "false") return () => false;
      return (s) => s[t.value];
    }
    if (t.value === "(") {
      const inner = binary(0);
      if (tokens[pos++]?.value !== ")") fail("missing ')'");
      return inner;
    }
    return fail(`unexpected '${t.value}'`);
  };

  const expr = binary(0);
  if (pos !== tokens.length) fail(`unexpected '${tokens[pos]!.value}'`);
  return expr;
}

/** Names an expression reads, for checking that a space's constraints only mention its decisions. */
export function identifiersOf(source: string): string[] {
  return tokenize(source)
    .filter((t): t is { kind: "id"; value: string } => t.kind === "id" && t.value !== "true" && t.value !== "false")
    .map((t) => t.value);
}
