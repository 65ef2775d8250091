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
  type LexLimits,
  type LexResult,
  type Redirect,
  type Word,
} from './shell-ast.ts';
import { decodeCommandLine } from './shell-input.ts';
import { WordScanner, type Ctx, type Frame, type Shared } from './shell-words.ts';

export * from './shell-ast.ts';

const OPERATORS = [';;&', '&>>', '<<<', '<<-', ';;', ';&', '&&', '||', '|&', '&>', '<<', '<>', '<&', '>>', '>&', '>|', ';', '&', '|', '(', ')', '<', '>'];
const REDIRECTS = new Set(['&>>', '<<<', '<<-', '&>', '<<', '<>', '<&', '>>', '>&', '>|', '<', '>']);
/** Reserved words that only open or continue a compound command: the next word starts a command again. */
const PREFIX_KEYWORDS = new Set(['!', '{', 'if', 'then', 'else', 'elif', 'do', 'while', 'until', 'time', 'coproc']);
const END_KEYWORDS = new Set(['}', 'fi', 'done']);
const KEYWORD_END = /^(?:[ \t\n;&|()<>]|$)/;

interface Cur {
  assignments: Word[];
  argv: Word[];
  redirects: Redirect[];
}

interface PendingHereDoc {
  redirect: Redirect;
  strip: boolean;
}

const BASE_CONTEXT: Ctx = { subshell: false, substitution: false, processSubstitution: false };

/** Lexes one command line. Never throws: every failure is `{ok: false}` with a code. */
export function lexShell(input: string | Uint8Array, limits: LexLimits = {}): LexResult {
  try {
    const text = decodeCommandLine(input, limits.maxBytes ?? 64 * 1024);
    const shared: Shared = { commands: [], scopes: [], lastScope: 0, features: new Set(), depth: 0, maxDepth: limits.maxDepth ?? 16, maxCommands: limits.maxCommands ?? 1024 };
    new Parser(text, shared, BASE_CONTEXT).parseList('eof');
    return { ok: true, commands: shared.commands, features: [...shared.features].sort() };
  } catch (e) {
    if (e instanceof ShellLexError) return { ok: false, code: e.code as LexFailCode, message: e.message, offset: e.offset };
    // A bug or a stack overflow is still a refusal, never an escaping exception.
    return { ok: false, code: 'shell.syntax', message: 'the command line could not be lexed', offset: -1 };
  }
}

type LexFailCode = Extract<LexResult, { ok: false }>['code'];

class Parser extends WordScanner {
  private pending: PendingHereDoc[] = [];

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

  protected nested(text: string, ctx: Ctx, mode: 'list' | 'heredoc'): void {
    this.enter();
    const p = new Parser(text, this.sh, ctx);
    p.scope = mode === 'list' ? ++this.sh.lastScope : this.scope;
    if (mode === 'list') p.parseList('eof');
    else p.expandingText();
    this.leave();
  }
}
