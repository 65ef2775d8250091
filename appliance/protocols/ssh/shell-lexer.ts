/**
 * A POSIX sh lexer (bash extensions where bash is the usual login shell: `$'…'`, `<(…)`, `[[ ]]`, `|&`,
 * `&>`) for `exec` command lines: it finds every simple command the shell would run, with its words, and
 * says which words are literal. It is not an interpreter: it never expands anything, and where the shell's
 * behaviour depends on run-time state (a variable, a glob, an alias) it marks the word non-literal instead of
 * guessing. Anything it cannot delimit the way the shell does is an error (the caller fails closed).
 * README-exec.md lists what is parsed and the limits.
 */
import {
  ShellLexError,
  type CommandContext,
  type LexLimits,
  type LexResult,
  type Redirect,
  type ShellFeature,
  type SimpleCommand,
  type Word,
} from './shell-ast.ts';
import { decodeCommandLine } from './shell-input.ts';

export * from './shell-ast.ts';

const META = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);
const OPERATORS = [';;&', '&>>', '<<<', '<<-', ';;', ';&', '&&', '||', '|&', '&>', '<<', '<>', '<&', '>>', '>&', '>|', ';', '&', '|', '(', ')', '<', '>'];
const REDIRECTS = new Set(['&>>', '<<<', '<<-', '&>', '<<', '<>', '<&', '>>', '>&', '>|', '<', '>']);
/** Reserved words that only open or continue a compound command: the next word starts a command again. */
const PREFIX_KEYWORDS = new Set(['!', '{', 'if', 'then', 'else', 'elif', 'do', 'while', 'until', 'time', 'coproc']);
const END_KEYWORDS = new Set(['}', 'fi', 'done']);
const KEYWORD_END = /^(?:[ \t\n;&|()<>]|$)/;

interface Shared {
  commands: SimpleCommand[];
  /** The scope (top level or one substitution) of each command: `|` and `&` mark only their own scope's. */
  scopes: number[];
  lastScope: number;
  features: Set<ShellFeature>;
  depth: number;
  maxDepth: number;
  maxCommands: number;
}

interface Frame {
  unitStart: number;
  pipeActive: boolean;
}

interface Cur {
  assignments: Word[];
  argv: Word[];
  redirects: Redirect[];
}

interface PendingHereDoc {
  redirect: Redirect;
  strip: boolean;
}

/** A word being built: `value` gets the raw text of expansions so that non-literal words still read well. */
interface WordAcc {
  value: string;
  literal: boolean;
}

const BASE_CONTEXT: Omit<CommandContext, 'pipe' | 'background'> = { subshell: false, substitution: false, processSubstitution: false };

/** Lexes one command line. Never throws: every failure is `{ok: false}` with a code. */
export function lexShell(input: string | Uint8Array, limits: LexLimits = {}): LexResult {
  try {
    const text = decodeCommandLine(input, limits.maxBytes ?? 64 * 1024);
    const shared: Shared = { commands: [], scopes: [], lastScope: 0, features: new Set(), depth: 0, maxDepth: limits.maxDepth ?? 16, maxCommands: limits.maxCommands ?? 1024 };
    new Parser(text, shared, BASE_CONTEXT).parseList('eof');
    return { ok: true, commands: shared.commands, features: [...shared.features].sort() };
  } catch (e) {
    if (e instanceof ShellLexError) return { ok: false, code: e.code as ShellLexError['code'] & LexFailCode, message: e.message, offset: e.offset };
    // A bug or a stack overflow is still a refusal, never an escaping exception.
    return { ok: false, code: 'shell.syntax', message: 'the command line could not be lexed', offset: -1 };
  }
}

type LexFailCode = Extract<LexResult, { ok: false }>['code'];

class Parser {
  private i = 0;
  private frames: Frame[] = [];
  private pending: PendingHereDoc[] = [];
  /** Start offsets where `$((`/`((` was tried as arithmetic and was not: never tried twice (bounded time). */
  private arithFailed = new Set<number>();
  private scope = 0;

  constructor(
    private readonly s: string,
    private readonly sh: Shared,
    private ctx: Omit<CommandContext, 'pipe' | 'background'>,
  ) {}

  private fail(code: 'shell.unterminated' | 'shell.syntax', message: string, at = this.i): never {
    throw new ShellLexError(code, message, at);
  }

  private feature(f: ShellFeature): void {
    this.sh.features.add(f);
  }

  private enter(): void {
    if (++this.sh.depth > this.sh.maxDepth) throw new ShellLexError('shell.too-deep', `nesting deeper than ${this.sh.maxDepth}`, this.i);
  }

  private leave(): void {
    this.sh.depth--;
  }

  private keywordAt(word: string): boolean {
    return this.s.startsWith(word, this.i) && KEYWORD_END.test(this.s.slice(this.i + word.length, this.i + word.length + 1));
  }

  /** Blanks, line continuations and comments; with `newlines`, newlines too (reading due here-documents). */
  private skipBlanks(newlines = false): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === ' ' || c === '\t') this.i++;
      else if (c === '\\' && s[this.i + 1] === '\n') {
        this.feature('line-continuation');
        this.i += 2;
      } else if (c === '#') {
        this.feature('comment');
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
      } else if (c === '\n' && newlines) {
        this.i++;
        this.readHereDocs();
      } else return;
    }
  }

  private readOp(): string | undefined {
    const s = this.s;
    if ((s[this.i] === '<' || s[this.i] === '>') && s[this.i + 1] === '(') return undefined; // process substitution: a word
    for (const op of OPERATORS) if (s.startsWith(op, this.i)) return op;
    return undefined;
  }

  private push(cur: Cur): void {
    if (cur.argv.length === 0 && cur.assignments.length === 0 && cur.redirects.length === 0) return;
    if (this.sh.commands.length >= this.sh.maxCommands) throw new ShellLexError('shell.too-many', `more than ${this.sh.maxCommands} commands`, this.i);
    const pipe = this.frames.some((f) => f.pipeActive);
    this.sh.commands.push({ ...cur, context: { ...this.ctx, pipe, background: false } });
    this.sh.scopes.push(this.scope);
  }

  /** A list of commands up to the end of the text, or up to the `)` closing a subshell or substitution. */
  parseList(stop: 'eof' | ')'): void {
    const s = this.s;
    const frame: Frame = { unitStart: this.sh.commands.length, pipeActive: false };
    this.frames.push(frame);
    const cases: ('pattern' | 'body')[] = [];
    let cur: Cur = { assignments: [], argv: [], redirects: [] };
    let started = false;
    let needCommand = false;
    // Just after a compound command (`)`, `}`, `fi`, `done`, `esac`, `))`): only redirections or operators may follow.
    let closed = false;
    let afterPipe = false;
    const end = () => {
      this.push(cur);
      cur = { assignments: [], argv: [], redirects: [] };
    };
    const separator = (op: string) => {
      if (!started) this.fail('shell.syntax', `syntax error near ${JSON.stringify(op)}`);
      end();
      started = false;
      closed = false;
    };
    for (;;) {
      this.skipBlanks();
      if (this.i >= s.length) {
        end();
        this.readHereDocs();
        if (needCommand) this.fail('shell.syntax', 'the line ends after an operator that needs a command');
        if (stop === ')') this.fail('shell.unterminated', 'unterminated ( or $(');
        if (cases.length > 0) this.fail('shell.unterminated', 'case without esac');
        this.frames.pop();
        return;
      }
      const c = s[this.i];
      if (c === '\n') {
        this.i++;
        end();
        this.readHereDocs();
        closed = false;
        if (!needCommand) {
          if (started) this.feature('sequence');
          frame.unitStart = this.sh.commands.length;
          frame.pipeActive = false;
          started = false;
        }
        continue;
      }
      const op = this.readOp();
      if (op === undefined) {
        needCommand = false;
        const atStart = cur.argv.length === 0 && cur.assignments.length === 0 && cur.redirects.length === 0;
        // `time` is a reserved word only at the start of a pipeline (after `|` it is /usr/bin/time, a wrapper).
        const kw = atStart && !(afterPipe && this.keywordAt('time')) ? this.compoundWord(cases) : false;
        afterPipe = false;
        if (kw !== false) {
          // After a closing word (`}`, `fi`, `done`, `esac`, a `for` header) an operator may follow.
          started = kw === 'close';
          closed = kw === 'close';
          continue;
        }
        const w = this.scanWord();
        const next = s[this.i];
        if ((next === '<' || next === '>') && s[this.i + 1] !== '(' && (/^\d+$/.test(w.raw) || /^\{[A-Za-z_]\w*\}$/.test(w.raw))) {
          const rop = this.readOp()!;
          this.redirect(cur, rop, w.raw);
        } else if (closed) {
          this.fail('shell.syntax', `syntax error near ${JSON.stringify(w.raw)} after a compound command`);
        } else if (atStart && w.raw === '[[') {
          cur.argv.push(w, ...this.conditional());
        } else if (cur.argv.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/.test(w.raw)) {
          this.feature('assignment');
          cur.assignments.push(w);
          if (w.raw.endsWith('=') && s[this.i] === '(') this.arrayValue();
        } else cur.argv.push(w);
        started = true;
        continue;
      }
      if (REDIRECTS.has(op)) {
        needCommand = false;
        this.redirect(cur, op, undefined);
        started = true;
        continue;
      }
      switch (op) {
        case '(': {
          const empty = cur.argv.length === 0 && cur.assignments.length === 0 && cur.redirects.length === 0;
          if (cur.argv.length === 1 && cur.assignments.length === 0 && /^\(\s*\)/.test(s.slice(this.i, this.i + 64))) {
            // name () body: a function definition; the body's commands are still listed (over-approximation).
            this.feature('function');
            this.i = s.indexOf(')', this.i) + 1;
            cur = { assignments: [], argv: [], redirects: [] };
            started = false;
            continue;
          }
          if (!empty) this.fail('shell.syntax', 'syntax error near "("');
          needCommand = false;
          if (s[this.i + 1] === '(') {
            const after = this.tryArith(this.i + 2);
            if (after !== undefined) {
              this.i = after;
              started = true;
              closed = true;
              continue;
            }
          }
          this.i++;
          this.feature('subshell');
          this.enter();
          const saved = this.ctx;
          this.ctx = { ...saved, subshell: true };
          this.parseList(')');
          this.ctx = saved;
          this.leave();
          started = true;
          closed = true;
          continue;
        }
        case ')':
          if (stop !== ')' || cases.length > 0) this.fail('shell.syntax', 'syntax error near ")"');
          this.i++;
          end();
          if (needCommand) this.fail('shell.syntax', 'an operator before ")" needs a command');
          this.frames.pop();
          return;
        case ';;':
        case ';&':
        case ';;&':
          if (cases[cases.length - 1] !== 'body') this.fail('shell.syntax', `syntax error near ${JSON.stringify(op)}`);
          this.i += op.length;
          end();
          cases[cases.length - 1] = 'pattern';
          {
            const open = cases.length;
            this.casePatterns(cases);
            // `;; esac` closes the case: only operators may follow.
            started = closed = cases.length < open;
          }
          continue;
        case ';':
          separator(op);
          this.i++;
          this.feature('sequence');
          frame.unitStart = this.sh.commands.length;
          frame.pipeActive = false;
          continue;
        case '&':
          separator(op);
          this.i++;
          this.feature('background');
          for (let k = frame.unitStart; k < this.sh.commands.length; k++) if (this.sh.scopes[k] === this.scope) this.sh.commands[k]!.context.background = true;
          frame.unitStart = this.sh.commands.length;
          frame.pipeActive = false;
          continue;
        case '&&':
        case '||':
          separator(op);
          this.i += 2;
          this.feature('and-or');
          needCommand = true;
          frame.unitStart = this.sh.commands.length;
          frame.pipeActive = false;
          continue;
        default: // | and |&
          separator(op);
          this.i += op.length;
          this.feature('pipe');
          for (let k = frame.unitStart; k < this.sh.commands.length; k++) if (this.sh.scopes[k] === this.scope) this.sh.commands[k]!.context.pipe = true;
          frame.pipeActive = true;
          needCommand = true;
          afterPipe = true;
      }
    }
  }

  /**
   * Reserved words at the start of a command (bash recognises them only unquoted, there). Consumes the word
   * (and the header of `for`/`case`) and says whether it opened or closed something; consumes nothing and answers false otherwise.
   */
  private compoundWord(cases: ('pattern' | 'body')[]): 'open' | 'close' | false {
    for (const k of PREFIX_KEYWORDS) {
      if (this.keywordAt(k)) {
        this.i += k.length;
        if (k === 'coproc') {
          // coproc NAME { …; }: NAME is not a command.
          const m = /^[ \t]+[A-Za-z_]\w*[ \t]+(?=[{(])/.exec(this.s.slice(this.i, this.i + 256));
          if (m) this.i += m[0].length;
        }
        if (k === 'time') {
          const m = /^[ \t]+-p(?=[ \t\n;&|()<>]|$)/.exec(this.s.slice(this.i, this.i + 16));
          if (m) this.i += m[0].length;
        }
        this.feature(k === '{' ? 'group' : k === 'while' || k === 'until' || k === 'do' ? 'loop' : 'keyword');
        return 'open';
      }
    }
    for (const k of END_KEYWORDS) {
      if (this.keywordAt(k)) {
        this.i += k.length;
        return 'close';
      }
    }
    if (this.keywordAt('esac')) {
      if (cases[cases.length - 1] !== 'body') this.fail('shell.syntax', 'esac without case');
      cases.pop();
      this.i += 4;
      return 'close';
    }
    if (this.keywordAt('for') || this.keywordAt('select')) {
      this.feature('loop');
      this.i += this.s.startsWith('for', this.i) ? 3 : 6;
      this.forHeader();
      return 'close';
    }
    if (this.keywordAt('case')) {
      this.feature('case');
      this.i += 4;
      this.skipBlanks();
      if (this.readOp() !== undefined || this.i >= this.s.length) this.fail('shell.syntax', 'case needs a word');
      this.scanWord();
      this.skipBlanks(true);
      if (!this.keywordAt('in')) this.fail('shell.syntax', 'case without in');
      this.i += 2;
      const depth = cases.length;
      cases.push('pattern');
      this.casePatterns(cases);
      return cases.length === depth ? 'close' : 'open';
    }
    if (this.keywordAt('function')) {
      this.feature('function');
      this.i += 8;
      this.skipBlanks();
      if (this.readOp() !== undefined || this.i >= this.s.length) this.fail('shell.syntax', 'function needs a name');
      this.scanWord();
      const m = /^[ \t]*\([ \t]*\)/.exec(this.s.slice(this.i, this.i + 64));
      if (m) this.i += m[0].length;
      return 'open';
    }
    return false;
  }

  /** `for name [in words…]` or `for ((…))`, up to (not including) the `;` or newline before `do`. */
  private forHeader(): void {
    this.skipBlanks();
    if (this.s.startsWith('((', this.i)) {
      const after = this.tryArith(this.i + 2);
      if (after === undefined) this.fail('shell.syntax', 'for (( without ))');
      this.i = after;
      return;
    }
    if (this.readOp() !== undefined || this.i >= this.s.length) this.fail('shell.syntax', 'for needs a name');
    this.scanWord();
    this.skipBlanks(true);
    if (!this.keywordAt('in')) return;
    this.i += 2;
    for (;;) {
      this.skipBlanks();
      if (this.i >= this.s.length || this.s[this.i] === ';' || this.s[this.i] === '\n') return;
      if (this.readOp() !== undefined) this.fail('shell.syntax', 'unexpected operator in for … in');
      this.scanWord();
    }
  }

  /** Case patterns `[(] pat [| pat]… )`, or `esac`. Words of patterns can hold substitutions, which run. */
  private casePatterns(cases: ('pattern' | 'body')[]): void {
    this.skipBlanks(true);
    if (this.keywordAt('esac')) {
      this.i += 4;
      cases.pop();
      return;
    }
    if (this.s[this.i] === '(') this.i++;
    for (;;) {
      this.skipBlanks();
      if (this.i >= this.s.length) this.fail('shell.unterminated', 'case pattern without )');
      const c = this.s[this.i]!;
      if (c === ')') {
        this.i++;
        cases[cases.length - 1] = 'body';
        return;
      }
      if (c === '|') {
        this.i++;
        continue;
      }
      if (this.readOp() !== undefined) this.fail('shell.syntax', 'unexpected operator in a case pattern');
      this.scanWord();
    }
  }

  /** `[[ … ]]`: operators inside are words of the test, not command separators. */
  private conditional(): Word[] {
    this.feature('conditional');
    const out: Word[] = [];
    for (;;) {
      this.skipBlanks(true);
      if (this.i >= this.s.length) this.fail('shell.unterminated', '[[ without ]]');
      const op = this.readOp();
      if (op !== undefined) {
        if (op.startsWith(';') || op === '&' || op === '|&') this.fail('shell.syntax', `syntax error in [[ near ${JSON.stringify(op)}`);
        this.i += op.length;
        out.push({ raw: op, value: op, literal: true });
        continue;
      }
      const w = this.scanWord();
      out.push(w);
      if (w.raw === ']]') return out;
    }
  }

  /** `name=( words… )` (bash arrays). */
  private arrayValue(): void {
    this.i++;
    for (;;) {
      this.skipBlanks(true);
      if (this.i >= this.s.length) this.fail('shell.unterminated', 'unterminated array assignment');
      if (this.s[this.i] === ')') {
        this.i++;
        return;
      }
      if (this.readOp() !== undefined) this.fail('shell.syntax', 'unexpected operator in an array assignment');
      this.scanWord();
    }
  }

  private redirect(cur: Cur, op: string, fd: string | undefined): void {
    this.feature('redirect');
    this.i += op.length;
    this.skipBlanks();
    if (this.i >= this.s.length || this.s[this.i] === '\n' || this.readOp() !== undefined) this.fail('shell.syntax', `${op} needs a target`);
    const target = this.scanWord();
    const r: Redirect = fd === undefined ? { op, target } : { op, fd, target };
    if (op === '<<' || op === '<<-') {
      this.feature('heredoc');
      const quoted = /['"\\]/.test(target.raw);
      r.heredoc = { delimiter: target.value, quoted, body: '' };
      this.pending.push({ redirect: r, strip: op === '<<-' });
    } else if (op === '<<<') this.feature('herestring');
    cur.redirects.push(r);
  }

  /** Bodies of the here-documents opened on the line that just ended (bash: a missing delimiter ends at EOF). */
  private readHereDocs(): void {
    const s = this.s;
    while (this.pending.length > 0) {
      const { redirect, strip } = this.pending.shift()!;
      const doc = redirect.heredoc!;
      const lines: string[] = [];
      while (this.i < s.length) {
        let nl = s.indexOf('\n', this.i);
        if (nl < 0) nl = s.length;
        let line = s.slice(this.i, nl);
        this.i = Math.min(nl + 1, s.length);
        if (strip) line = line.replace(/^\t+/, '');
        if (line === doc.delimiter) break;
        lines.push(line + '\n');
      }
      doc.body = lines.join('');
      if (!doc.quoted && doc.body.length > 0) this.nested(doc.body, this.ctx, 'heredoc');
    }
  }

  /** Lexes `text` (a backtick body, an expanding here-document) with the same output and limits. */
  private nested(text: string, ctx: Omit<CommandContext, 'pipe' | 'background'>, mode: 'list' | 'heredoc'): void {
    this.enter();
    const p = new Parser(text, this.sh, ctx);
    p.scope = mode === 'list' ? ++this.sh.lastScope : this.scope;
    if (mode === 'list') p.parseList('eof');
    else p.expandingText();
    this.leave();
  }

  /** A here-document body that expands: `$…` and backticks count, quotes do not. */
  private expandingText(): void {
    const acc: WordAcc = { value: '', literal: true };
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '\\') this.i += 2;
      else if (c === '$') this.dollar(acc, true);
      else if (c === '`') this.backtick(acc, true);
      else this.i++;
    }
  }

  // ---- words ----

  scanWord(): Word {
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

  private nonLiteral(acc: WordAcc, f: ShellFeature): void {
    acc.literal = false;
    this.feature(f);
  }

  private doubleQuoted(acc: WordAcc): void {
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
  private dollar(acc: WordAcc, inDq: boolean): void {
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

  private substitution(ctx: Omit<CommandContext, 'pipe' | 'background'>): void {
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

  private processSubstitution(acc: WordAcc): void {
    this.feature('process-substitution');
    const start = this.i;
    this.i += 2;
    this.substitution({ ...this.ctx, substitution: true, processSubstitution: true });
    acc.literal = false;
    acc.value += this.s.slice(start, this.i);
  }

  /** `${…}` up to its `}`; what is inside may hold quotes and further substitutions. */
  private braceParam(inDq: boolean): void {
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
  private tryArith(from: number): number | undefined {
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
  private backtick(acc: WordAcc, inDq: boolean): void {
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
  private ansiC(acc: WordAcc): void {
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
