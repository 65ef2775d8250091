/**
 * The word level of the shell lexer (shell-lexer.ts has the grammar): quotes, escapes, and the expansions
 * inside a word — `$…`, `${…}`, `$(…)`, backticks, `$((…))`, `<(…)`, `$'…'` — with the commands inside
 * substitutions lexed through the grammar (`parseList`, `nested`).
 */
import { ShellLexError, type CommandContext, type ShellFeature, type SimpleCommand, type Word } from './shell-ast.ts';

export const META = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);

export type Ctx = Omit<CommandContext, 'pipe' | 'background'>;

export interface Shared {
  commands: SimpleCommand[];
  /** The scope (top level or one substitution) of each command: `|` and `&` mark only their own scope's. */
  scopes: number[];
  lastScope: number;
  features: Set<ShellFeature>;
  depth: number;
  maxDepth: number;
  maxCommands: number;
}

export interface Frame {
  unitStart: number;
  pipeActive: boolean;
}

/** A word being built: `value` gets the raw text of expansions so that non-literal words still read well. */
export interface WordAcc {
  value: string;
  literal: boolean;
}

export abstract class WordScanner {
  protected i = 0;
  protected frames: Frame[] = [];
  /** Start offsets where `$((`/`((` was tried as arithmetic and was not: never tried twice (bounded time). */
  protected arithFailed = new Set<number>();
  protected scope = 0;

  constructor(
    protected readonly s: string,
    protected readonly sh: Shared,
    protected ctx: Ctx,
  ) {}

  /** A list of commands up to the end of the text, or up to the `)` closing a subshell or substitution. */
  abstract parseList(stop: 'eof' | ')'): void;
  /** Lexes `text` (a backtick body, an expanding here-document) with the same output and limits. */
  protected abstract nested(text: string, ctx: Ctx, mode: 'list' | 'heredoc'): void;

  protected fail(code: 'shell.unterminated' | 'shell.syntax', message: string, at = this.i): never {
    throw new ShellLexError(code, message, at);
  }

  protected feature(f: ShellFeature): void {
    this.sh.features.add(f);
  }

  protected enter(): void {
    if (++this.sh.depth > this.sh.maxDepth) throw new ShellLexError('shell.too-deep', `nesting deeper than ${this.sh.maxDepth}`, this.i);
  }

  protected leave(): void {
    this.sh.depth--;
  }

  /** A here-document body that expands: `$…` and backticks count, quotes do not. */
  protected expandingText(): void {
    const acc: WordAcc = { value: '', literal: true };
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '\\') this.i += 2;
      else if (c === '$') this.dollar(acc, true);
      else if (c === '`') this.backtick(acc, true);
      else this.i++;
    }
  }

  protected scanWord(): Word {
    const s = this.s;
    const start = this.i;
    const acc: WordAcc = { value: '', literal: true };
    let bracket = false;
    let brace = false;
    let braceSep = false;
    let prev = '';
    while (this.i < s.length) {
      const c = s[this.i]!;
      if ((c === '<' || c === '>') && s[this.i + 1] === '(') {
        this.processSubstitution(acc);
        prev = ')';
        continue;
      }
      if (META.has(c)) break;
      switch (c) {
        case '\\':
          this.feature('backslash');
          if (s[this.i + 1] === '\n') {
            this.feature('line-continuation');
            this.i += 2;
            continue;
          }
          acc.value += s[this.i + 1] ?? '\\';
          this.i += this.i + 1 < s.length ? 2 : 1;
          prev = '\\';
          continue;
        case "'": {
          this.feature('single-quote');
          const e = s.indexOf("'", this.i + 1);
          if (e < 0) this.fail('shell.unterminated', 'unbalanced single quote');
          acc.value += s.slice(this.i + 1, e);
          this.i = e + 1;
          prev = "'";
          continue;
        }
        case '"':
          this.doubleQuoted(acc);
          prev = '"';
          continue;
        case '$':
          this.dollar(acc, false);
          prev = '$';
          continue;
        case '`':
          this.backtick(acc, false);
          prev = '`';
          continue;
        case '*':
        case '?':
          this.nonLiteral(acc, 'glob');
          break;
        case '[':
          bracket = true;
          break;
        case ']':
          if (bracket) this.nonLiteral(acc, 'glob');
          break;
        case '{':
          brace = true;
          break;
        case ',':
          if (brace) braceSep = true;
          break;
        case '.':
          if (brace && s[this.i + 1] === '.') braceSep = true;
          break;
        case '}':
          if (brace && braceSep) this.nonLiteral(acc, 'brace-expansion');
          break;
        case '=':
          // zsh: `=name` at the start of a word expands to the command's path.
          if (this.i === start && /[A-Za-z_]/.test(s[this.i + 1] ?? '')) this.nonLiteral(acc, 'equals-expansion');
          break;
        case '~':
          if (this.i === start || prev === '=' || prev === ':') this.nonLiteral(acc, 'tilde');
          break;
      }
      acc.value += c;
      prev = c;
      this.i++;
    }
    return { raw: s.slice(start, this.i), value: acc.value, literal: acc.literal };
  }

  protected nonLiteral(acc: WordAcc, f: ShellFeature): void {
    acc.literal = false;
    this.feature(f);
  }

  protected doubleQuoted(acc: WordAcc): void {
    this.feature('double-quote');
    const s = this.s;
    const open = this.i++;
    for (;;) {
      if (this.i >= s.length) this.fail('shell.unterminated', 'unbalanced double quote', open);
      const c = s[this.i]!;
      if (c === '"') {
        this.i++;
        return;
      }
      if (c === '\\') {
        const n = s[this.i + 1];
        if (n === '\n') this.i += 2;
        else if (n === '$' || n === '`' || n === '"' || n === '\\') {
          acc.value += n;
          this.i += 2;
        } else {
          acc.value += '\\';
          this.i++;
        }
      } else if (c === '$') this.dollar(acc, true);
      else if (c === '`') this.backtick(acc, true);
      else {
        acc.value += c;
        this.i++;
      }
    }
  }

  /** At `$`: an expansion (non-literal), `$'…'`, `$"…"`, or a plain `$`. */
  protected dollar(acc: WordAcc, inDq: boolean): void {
    const s = this.s;
    const start = this.i;
    const n = s[this.i + 1];
    if (n === "'" && !inDq) {
      this.ansiC(acc);
      return;
    }
    if (n === '"' && !inDq) {
      this.feature('locale-quote');
      this.i++;
      this.doubleQuoted(acc);
      acc.literal = false;
      return;
    }
    if (n === '(') {
      const after = s[this.i + 2] === '(' ? this.tryArith(this.i + 3) : undefined;
      if (after !== undefined) this.i = after;
      else {
        this.feature('command-substitution');
        this.i += 2;
        this.substitution({ ...this.ctx, substitution: true });
      }
    } else if (n === '{') {
      this.feature('parameter-expansion');
      this.i += 2;
      this.braceParam(inDq);
    } else if (n !== undefined && /[A-Za-z_]/.test(n)) {
      this.feature('parameter-expansion');
      this.i += 2;
      while (this.i < s.length && /[A-Za-z0-9_]/.test(s[this.i]!)) this.i++;
    } else if (n !== undefined && /[0-9@*#?$!-]/.test(n)) {
      this.feature('parameter-expansion');
      this.i += 2;
    } else {
      acc.value += '$';
      this.i++;
      return;
    }
    acc.literal = false;
    acc.value += s.slice(start, this.i);
  }

  protected substitution(ctx: Ctx): void {
    this.enter();
    const saved = { ctx: this.ctx, frames: this.frames, scope: this.scope };
    this.ctx = ctx;
    this.frames = [];
    this.scope = ++this.sh.lastScope;
    this.parseList(')');
    this.ctx = saved.ctx;
    this.frames = saved.frames;
    this.scope = saved.scope;
    this.leave();
  }

  protected processSubstitution(acc: WordAcc): void {
    this.feature('process-substitution');
    const start = this.i;
    this.i += 2;
    this.substitution({ ...this.ctx, substitution: true, processSubstitution: true });
    acc.literal = false;
    acc.value += this.s.slice(start, this.i);
  }

  /** `${…}` up to its `}`; what is inside may hold quotes and further substitutions. */
  protected braceParam(inDq: boolean): void {
    const s = this.s;
    const open = this.i;
    const dummy: WordAcc = { value: '', literal: true };
    let depth = 0;
    this.enter();
    for (;;) {
      if (this.i >= s.length) this.fail('shell.unterminated', 'unterminated ${', open);
      const c = s[this.i]!;
      if (c === '}' && depth === 0) {
        this.i++;
        this.leave();
        return;
      }
      if (c === '}') depth--;
      else if (c === '{') depth++;
      if (c === '\\') this.i += 2;
      else if (c === "'" && !inDq) {
        const e = s.indexOf("'", this.i + 1);
        if (e < 0) this.fail('shell.unterminated', 'unbalanced single quote');
        this.i = e + 1;
      } else if (c === '"') this.doubleQuoted(dummy);
      else if (c === '$') this.dollar(dummy, true);
      else if (c === '`') this.backtick(dummy, true);
      else this.i++;
    }
  }

  /**
   * `$((` or `((` as arithmetic up to the matching `))`: the index after it, or undefined when the parens do
   * not close that way (bash then reads `$( (…) … )`, a substitution holding a subshell).
   */
  protected tryArith(from: number): number | undefined {
    if (this.arithFailed.has(from)) return undefined;
    const s = this.s;
    const saved = { i: this.i, n: this.sh.commands.length, depth: this.sh.depth };
    const dummy: WordAcc = { value: '', literal: true };
    this.i = from;
    let depth = 0;
    try {
      this.enter();
      while (this.i < s.length) {
        const c = s[this.i]!;
        if (c === '(') depth++;
        else if (c === ')') {
          if (depth > 0) depth--;
          else if (s[this.i + 1] === ')') {
            this.feature('arithmetic');
            this.leave();
            return this.i + 2;
          } else break;
        }
        if (c === '\\') this.i += 2;
        else if (c === '"') this.doubleQuoted(dummy);
        else if (c === '$') this.dollar(dummy, true);
        else if (c === '`') this.backtick(dummy, true);
        else this.i++;
      }
    } catch (e) {
      if (!(e instanceof ShellLexError) || e.code === 'shell.too-deep' || e.code === 'shell.too-many') throw e;
    }
    this.arithFailed.add(from);
    this.i = saved.i;
    this.sh.commands.length = saved.n;
    this.sh.scopes.length = saved.n;
    this.sh.depth = saved.depth;
    return undefined;
  }

  /** `` `…` ``: the body, with `\$ \` \\` (and `\"` inside double quotes) unescaped, is lexed as a script. */
  protected backtick(acc: WordAcc, inDq: boolean): void {
    this.feature('backtick');
    const s = this.s;
    const start = this.i;
    let j = this.i + 1;
    let body = '';
    for (;;) {
      if (j >= s.length) this.fail('shell.unterminated', 'unbalanced backtick', start);
      const c = s[j]!;
      if (c === '`') break;
      if (c === '\\' && j + 1 < s.length) {
        const n = s[j + 1]!;
        body += n === '$' || n === '`' || n === '\\' || (inDq && n === '"') ? n : c + n;
        j += 2;
      } else {
        body += c;
        j++;
      }
    }
    this.i = j + 1;
    this.nested(body, { ...this.ctx, substitution: true }, 'list');
    acc.literal = false;
    acc.value += s.slice(start, this.i);
  }

  /** `$'…'` (bash, POSIX 2024). An escape ≥ 0x80 makes the word non-literal (a raw byte, or locale-dependent). */
  protected ansiC(acc: WordAcc): void {
    this.feature('ansi-c-quote');
    const s = this.s;
    const open = this.i;
    let j = this.i + 2;
    let out = '';
    let truncated = false;
    const simple: Record<string, string> = { a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
    const take = (re: RegExp, max: number): string => {
      let k = 0;
      while (k < max && j + k < s.length && re.test(s[j + k]!)) k++;
      const t = s.slice(j, j + k);
      j += k;
      return t;
    };
    for (;;) {
      if (j >= s.length) this.fail('shell.unterminated', "unbalanced $'", open);
      const c = s[j]!;
      if (c === "'") break;
      let piece = c;
      j++;
      if (c === '\\') {
        const n = s[j];
        if (n === undefined) continue;
        j++;
        let code: number | undefined;
        if (simple[n] !== undefined) piece = simple[n]!;
        else if (/[0-7]/.test(n)) {
          j--;
          code = parseInt(take(/[0-7]/, 3), 8);
          if (code > 0x7f) acc.literal = false;
        } else if (n === 'x' && /[0-9A-Fa-f]/.test(s[j] ?? '')) {
          code = parseInt(take(/[0-9A-Fa-f]/, 2), 16);
          if (code > 0x7f) acc.literal = false;
        } else if ((n === 'u' || n === 'U') && /[0-9A-Fa-f]/.test(s[j] ?? '')) {
          code = parseInt(take(/[0-9A-Fa-f]/, n === 'u' ? 4 : 8), 16);
          // Outside ASCII the result depends on the target's locale (C: bash keeps `\u00e9` as written).
          if (code > 0x7f) acc.literal = false;
        } else if (n === 'c' && j < s.length) {
          code = s.charCodeAt(j) & 0x1f;
          j++;
        } else piece = '\\' + n;
        if (code !== undefined) {
          if (code === 0) truncated = true; // bash ends the string at a NUL
          piece = code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : '';
        }
      }
      if (!truncated) out += piece;
    }
    this.i = j + 1;
    acc.value += out;
  }
}
