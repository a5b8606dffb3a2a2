// A small parser for polynomial expressions in a and b, evaluated mod p.
//
//   expr   := term (('+' | '-') term)*
//   term   := unary (('*' | '/') unary | implicit)*     implicit product: 2a, ab, (a+b)(a-b)
//   unary  := '-' unary | power
//   power  := atom (('^' | '**') exponent)?             exponent: a non-negative integer
//   atom   := integer | 'a' | 'b' | '(' expr ')'
//
// '/' is the modular inverse (x / y = x * y^(p-2), p prime); where the divisor is 0 the
// expression is undefined and that pair is left out of the data set.

export type Expr =
  | { kind: "num"; value: bigint }
  | { kind: "var"; name: "a" | "b" }
  | { kind: "neg"; arg: Expr }
  | { kind: "pow"; base: Expr; exponent: bigint }
  | { kind: "bin"; op: "+" | "-" | "*" | "/"; left: Expr; right: Expr };

export class ExprError extends Error {}

/** The longest expression read, and the deepest nesting (parentheses and unary minus). */
export const MAX_EXPR_LENGTH = 300;
export const MAX_EXPR_DEPTH = 32;

/** Parses `source`; throws ExprError naming the position and what was expected. */
export function parseExpr(source: string): Expr {
  if (source.length > MAX_EXPR_LENGTH) throw new ExprError(`the expression is ${source.length} characters long (at most ${MAX_EXPR_LENGTH})`);
  const parser = new Parser(source);
  const expr = parser.expr();
  parser.expectEnd();
  return expr;
}

/** The value of `expr` at (a, b) mod p, or undefined where it divides by zero. */
export function evalExpr(expr: Expr, a: number, b: number, p: number): number | undefined {
  const P = BigInt(p);
  const go = (e: Expr): bigint | undefined => {
    switch (e.kind) {
      case "num": return ((e.value % P) + P) % P;
      case "var": return BigInt(e.name === "a" ? a : b) % P;
      case "neg": {
        const x = go(e.arg);
        return x === undefined ? undefined : (P - x) % P;
      }
      case "pow": {
        const x = go(e.base);
        return x === undefined ? undefined : modPow(x, e.exponent, P);
      }
      case "bin": {
        const x = go(e.left), y = go(e.right);
        if (x === undefined || y === undefined) return undefined;
        switch (e.op) {
          case "+": return (x + y) % P;
          case "-": return (x - y + P) % P;
          case "*": return (x * y) % P;
          case "/": return y === 0n ? undefined : (x * modPow(y, P - 2n, P)) % P;
        }
      }
    }
  };
  const r = go(expr);
  return r === undefined ? undefined : Number(r);
}

/** Whether the expression contains a division (so some pairs may be undefined). */
export function usesDivision(e: Expr): boolean {
  switch (e.kind) {
    case "num": case "var": return false;
    case "neg": return usesDivision(e.arg);
    case "pow": return usesDivision(e.base);
    case "bin": return e.op === "/" || usesDivision(e.left) || usesDivision(e.right);
  }
}

export function modPow(base: bigint, exponent: bigint, mod: bigint): bigint {
  let result = 1n % mod;
  let x = base % mod;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * x) % mod;
    x = (x * x) % mod;
    e >>= 1n;
  }
  return result;
}

const MAX_EXPONENT = 64n;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly src: string) {}

  // Parses one nested level (a parenthesis, a unary minus) with `inner`, up to MAX_EXPR_DEPTH deep.
  private nested(inner: () => Expr): Expr {
    if (++this.depth > MAX_EXPR_DEPTH) throw new ExprError(`"${this.src.slice(0, 40)}…" is nested more than ${MAX_EXPR_DEPTH} levels deep (parentheses and unary minus)`);
    const e = inner();
    this.depth--;
    return e;
  }

  expr(): Expr {
    let left = this.term();
    for (;;) {
      const c = this.peek();
      if (c !== "+" && c !== "-") return left;
      this.pos++;
      left = { kind: "bin", op: c, left, right: this.term() };
    }
  }

  private term(): Expr {
    let left = this.unary();
    for (;;) {
      const c = this.peek();
      if (c === "*" && this.src[this.skipSpace() + 1] !== "*") {
        this.pos++;
        left = { kind: "bin", op: "*", left, right: this.unary() };
      } else if (c === "/") {
        this.pos++;
        left = { kind: "bin", op: "/", left, right: this.unary() };
      } else if (c !== undefined && /[0-9ab(]/.test(c)) {
        left = { kind: "bin", op: "*", left, right: this.power() };
      } else {
        return left;
      }
    }
  }

  private unary(): Expr {
    if (this.peek() === "-") {
      this.pos++;
      return { kind: "neg", arg: this.nested(() => this.unary()) };
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.atom();
    const c = this.peek();
    let opLength = 0;
    if (c === "^") opLength = 1;
    else if (c === "*" && this.src[this.pos + 1] === "*") opLength = 2;
    if (opLength === 0) return base;
    this.pos += opLength;
    const at = this.skipSpace();
    const digits = /^[0-9]+/.exec(this.src.slice(at));
    if (!digits) throw this.error("a non-negative integer exponent (like a^3)");
    this.pos = at + digits[0].length;
    const exponent = BigInt(digits[0]);
    if (exponent > MAX_EXPONENT) throw new ExprError(`exponent ${exponent} is too large (at most ${MAX_EXPONENT}) in "${this.src}"`);
    return { kind: "pow", base, exponent };
  }

  private atom(): Expr {
    const c = this.peek();
    if (c === "a" || c === "b") {
      this.pos++;
      return { kind: "var", name: c };
    }
    if (c === "(") {
      this.pos++;
      const inner = this.nested(() => this.expr());
      if (this.peek() !== ")") throw this.error("')'");
      this.pos++;
      return inner;
    }
    const digits = /^[0-9]+/.exec(this.src.slice(this.skipSpace()));
    if (digits) {
      this.pos = this.skipSpace() + digits[0].length;
      return { kind: "num", value: BigInt(digits[0]) };
    }
    throw this.error("a number, a, b or '('");
  }

  expectEnd(): void {
    if (this.peek() !== undefined) throw this.error("an operator (+ - * / ^) or the end");
  }

  private peek(): string | undefined {
    this.pos = this.skipSpace();
    return this.src[this.pos];
  }

  private skipSpace(): number {
    let i = this.pos;
    while (i < this.src.length && /\s/.test(this.src[i]!)) i++;
    return i;
  }

  private error(expected: string): ExprError {
    const found = this.pos < this.src.length ? `'${this.src[this.pos]}'` : "the end";
    return new ExprError(`cannot parse "${this.src}": expected ${expected} at position ${this.pos + 1}, found ${found}`);
  }
}
