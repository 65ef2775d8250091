/**
 * Command facts for an SSH `exec` request: one fact per simple command the shell would run, including those
 * after `;`/`&&`/newlines, in pipelines, in `$(…)`/backticks/`<(…)`, behind wrappers (`sudo`, `env`,
 * `xargs`…), inside `sh -c '…'`, `eval '…'`, a here-document fed to a shell, and `find -exec`. `command` is
 * the basename of the command actually run. Anything Vigil cannot resolve is tagged so policy can refuse it:
 * `unparsable` (the line could not be lexed, or nesting went too deep) and `non-literal-command` (the
 * command word, or the script a shell runs, depends on an expansion). README-exec.md has the list.
 */
import type { CommandFacts } from '../../policy/engine.ts';
import { lexShell, type LexResult, type SimpleCommand, type Word } from './shell-lexer.ts';
import { readShell, readWrapper, SHELLS, WRAPPERS } from './exec-wrappers.ts';

export interface ExecFactsOptions {
  /** How many `sh -c` / `eval` / here-document levels are lexed (default 4); deeper is `unparsable`. */
  maxShellDepth?: number;
  /** Facts for one line at most (default 1024); more is `unparsable`. */
  maxFacts?: number;
  maxBytes?: number;
}

const CLASS = 'exec';

function unparsable(reason: string, code: string): CommandFacts {
  return { class: CLASS, command: '(unparsable)', tags: ['unparsable'], objects: [], attributes: { error: code, reason } };
}

class TooMany extends Error {}

/** The facts of an `exec` command line. Never throws; a line it cannot read gives one `unparsable` fact. */
export function execFacts(line: string | Uint8Array, options: ExecFactsOptions = {}): CommandFacts[] {
  const lex = lexShell(line, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes });
  if (!lex.ok) return [unparsable(lex.message, lex.code)];
  try {
    const out = new Collector(options.maxShellDepth ?? 4, options.maxFacts ?? 1024);
    out.line(lex, 0, []);
    const facts = out.facts;
    if (out.environmentOverride) for (const f of facts) (f.tags as string[]).push('environment-override');
    if (facts.length > 1) for (const f of facts) if (!f.tags.includes('multiple-commands')) (f.tags as string[]).push('multiple-commands');
    return facts;
  } catch (e) {
    if (e instanceof TooMany) return [unparsable('too many commands', 'shell.too-many')];
    return [unparsable('the command line could not be read', 'shell.syntax')];
  }
}

/** Builtins whose string arguments bash evaluates as arithmetic, where `a[$(cmd)]` runs cmd. */
const SUBSCRIPT_EVAL = new Set(['let', 'declare', 'typeset', 'local', 'export', 'readonly', 'unset', 'read', 'printf', 'mapfile', 'readarray', 'test', '[', '[[']);
/** Variables that change which program runs or what the shell runs first. */
const OVERRIDE = /^(?:PATH|LD_PRELOAD|LD_LIBRARY_PATH|LD_AUDIT|BASH_ENV|ENV|IFS|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|BASH_FUNC_[^=]*)\+?=/;

class Collector {
  readonly facts: CommandFacts[] = [];
  /** Names defined by `alias` on this line (bash -c expands them on later lines once expand_aliases is on). */
  private readonly aliases = new Set<string>();
  private unknownAliases = false;
  environmentOverride = false;

  constructor(
    private readonly maxDepth: number,
    private readonly maxFacts: number,
  ) {}

  private add(f: CommandFacts): void {
    if (this.facts.length >= this.maxFacts) throw new TooMany();
    this.facts.push(f);
  }

  line(lex: Extract<LexResult, { ok: true }>, depth: number, inherited: readonly string[]): void {
    for (const c of lex.commands) this.simple(c, depth, inherited);
  }

  /** A string a shell will run (`sh -c`, `eval`, a here-document): lexed again, one level deeper. */
  private script(text: string, depth: number, inherited: readonly string[]): void {
    if (depth + 1 > this.maxDepth) {
      this.add({ ...unparsable(`shell nesting deeper than ${this.maxDepth}`, 'shell.too-deep'), tags: [...inherited, 'nested-shell', 'unparsable'] });
      return;
    }
    const lex = lexShell(text);
    if (!lex.ok) {
      this.add({ ...unparsable(lex.message, lex.code), tags: [...inherited, 'nested-shell', 'unparsable'] });
      return;
    }
    this.line(lex, depth + 1, [...inherited, 'nested-shell']);
  }

  private simple(c: SimpleCommand, depth: number, inherited: readonly string[]): void {
    const tags = new Set<string>(inherited);
    if (c.context.pipe) tags.add('pipe');
    if (c.context.background) tags.add('background');
    if (c.context.subshell) tags.add('subshell');
    if (c.context.substitution) tags.add('substitution');
    if (c.context.processSubstitution) tags.add('process-substitution');
    if (c.redirects.length > 0) tags.add('redirect');
    if (c.redirects.some((r) => r.heredoc)) tags.add('heredoc');
    if (c.redirects.some((r) => r.op === '<<<')) tags.add('herestring');
    if (c.assignments.length > 0) tags.add('assignment');
    if ([...c.assignments, ...c.argv].some((w) => !w.literal ? /^[A-Za-z_]\w*\+?=/.test(w.raw) && OVERRIDE.test(w.raw) : OVERRIDE.test(w.value))) this.environmentOverride = true;
    this.resolve(c, c.argv, 0, tags, [], undefined, depth);
  }

  /** Sees through wrappers from argv[k], then records the fact of the command that runs. */
  private resolve(c: SimpleCommand, argv: readonly Word[], k: number, tags: Set<string>, wrappers: string[], user: string | undefined, depth: number): void {
    for (let guard = 0; guard < 64; guard++) {
      const w = argv[k];
      if (w === undefined) {
        // Assignments or redirections only (`> /etc/passwd`, `PATH=/tmp`), or a wrapper with nothing to run.
        this.fact(wrappers.length > 0 ? wrappers[wrappers.length - 1]! : '', argv, k, tags, wrappers, user);
        return;
      }
      if (!w.literal) {
        tags.add('non-literal-command');
        this.fact(w.raw, argv, k, tags, wrappers, user);
        return;
      }
      const name = basename(w.value);
      if (this.aliases.has(name) || this.unknownAliases) {
        tags.add('alias');
        tags.add('non-literal-command');
      }
      if (name === 'alias') {
        for (const a of argv.slice(k + 1)) {
          if (!a.literal) this.unknownAliases = true;
          else if (a.value.includes('=')) this.aliases.add(a.value.slice(0, a.value.indexOf('=')));
        }
      }
      if (SUBSCRIPT_EVAL.has(name) && argv.slice(k + 1).some((a) => a.literal && a.value.includes('[') && (a.value.includes('$(') || a.value.includes('`')))) {
        tags.add('arithmetic-injection');
        tags.add('non-literal-command');
      }
      if (name === 'su' || name === 'runuser') {
        tags.add('sudo');
        const cmd = suCommand(argv, k + 1);
        this.fact(name, argv, k, tags, wrappers, user);
        if (cmd === 'non-literal') this.tagLast('non-literal-command');
        else if (cmd !== undefined) this.script(cmd, depth, [...tags]);
        return;
      }
      const spec = WRAPPERS[name];
      if (spec) {
        if (spec.privilege) tags.add('sudo');
        const r = readWrapper(name, spec, argv, k + 1);
        if (r.kind === 'non-literal') {
          tags.add('non-literal-command');
          this.fact(name, argv, k, tags, wrappers, user);
          return;
        }
        if (r.kind === 'none') {
          if (!r.noExec && spec.privilege) tags.add('interactive-shell');
          this.fact(name === 'xargs' && !r.noExec ? 'echo' : name, argv, k, tags, [...wrappers, ...(name === 'xargs' ? ['xargs'] : [])], user);
          return;
        }
        wrappers = [...wrappers, name];
        if (r.user !== undefined) user = r.user;
        if (r.split !== undefined) {
          // env -S 'cmd args': the string is split into words and put in front of the remaining ones.
          const lex = lexShell(r.split);
          const one = lex.ok && lex.commands.length === 1 ? lex.commands[0]! : undefined;
          if (!one || one.redirects.length > 0 || one.assignments.length > 0) {
            tags.add('non-literal-command');
            this.fact(name, argv, k, tags, wrappers, user);
            return;
          }
          argv = [...one.argv, ...argv.slice(r.index)];
          k = 0;
          continue;
        }
        if (r.replace !== undefined) {
          // xargs -I R: R in the command's words is replaced by input, unknown here.
          const rep = r.replace;
          argv = argv.map((a, idx) => (idx >= r.index && a.literal && a.value.includes(rep) ? { ...a, literal: false } : a));
        }
        k = r.index;
        continue;
      }
      if (name === 'sudoedit') tags.add('sudo');
      this.fact(name, argv, k, tags, wrappers, user);
      if (SHELLS.has(name)) this.shell(c, argv, k, tags, depth);
      else if (name === 'eval') this.evalArgs(argv, argv[k + 1]?.literal && argv[k + 1]!.value === '--' ? k + 2 : k + 1, tags, depth);
      else if (name === 'watch') this.evalArgs(argv, watchCommand(argv, k + 1), tags, depth);
      else if (name === 'find') this.findExec(c, argv, k, tags, wrappers, user, depth);
      return;
    }
    this.add(unparsable('too many wrappers', 'shell.too-deep'));
  }

  private shell(c: SimpleCommand, argv: readonly Word[], k: number, tags: Set<string>, depth: number): void {
    const r = readShell(argv, k + 1);
    if (r.kind === 'string') {
      this.script(r.word.value, depth, [...tags]);
      return;
    }
    if (r.kind === 'non-literal') {
      this.tagLast('non-literal-command');
      return;
    }
    if (r.kind === 'script') return;
    // Commands on stdin: a here-document or here-string Vigil can read, else unknown (`… | sh`).
    const input = [...c.redirects].reverse().find((x) => x.heredoc || x.op === '<<<' || x.op === '<' || x.op === '<>' || x.op === '<&');
    if (input?.heredoc) {
      if (!input.heredoc.quoted && /[$`\\]/.test(input.heredoc.body)) this.tagLast('non-literal-command');
      else this.script(input.heredoc.body, depth, [...tags]);
    } else if (input?.op === '<<<' && input.target.literal) this.script(input.target.value + '\n', depth, [...tags]);
    else {
      this.tagLast('shell-stdin');
      if (input?.op === '<<<') this.tagLast('non-literal-command');
    }
  }

  /** `eval ARGS…` (and `watch ARGS…`, which runs them with `sh -c`): the arguments joined by spaces are a script. */
  private evalArgs(argv: readonly Word[], from: number, tags: Set<string>, depth: number): void {
    if (from < 0) {
      this.tagLast('non-literal-command');
      return;
    }
    const args = argv.slice(from);
    if (args.some((a) => !a.literal)) this.tagLast('non-literal-command');
    else if (args.length > 0) this.script(args.map((a) => a.value).join(' '), depth, [...tags]);
  }

  /** `find … -exec cmd … ;` (and -execdir, -ok, -okdir): the command it runs is a fact too. */
  private findExec(c: SimpleCommand, argv: readonly Word[], k: number, tags: Set<string>, wrappers: string[], user: string | undefined, depth: number): void {
    for (let j = k + 1; j < argv.length; j++) {
      const a = argv[j]!;
      if (!a.literal || !['-exec', '-execdir', '-ok', '-okdir'].includes(a.value)) continue;
      let e = j + 1;
      while (e < argv.length && !(argv[e]!.literal && (argv[e]!.value === ';' || argv[e]!.value === '+'))) e++;
      // `{}` is replaced by each path found: a word holding it is not known here.
      const words = argv.slice(j + 1, e).map((x) => (x.literal && x.value.includes('{}') ? { ...x, literal: false } : x));
      this.resolve(c, words, 0, new Set([...tags, 'find-exec']), [...wrappers, 'find'], user, depth);
      j = e;
    }
  }

  /** Adds a tag to the fact just recorded (the shell or eval whose script is not known literally). */
  private tagLast(tag: string): void {
    (this.facts[this.facts.length - 1]!.tags as string[]).push(tag);
  }

  private fact(command: string, argv: readonly Word[], k: number, tags: Set<string>, wrappers: string[], user: string | undefined): void {
    const attributes: Record<string, string> = {};
    const w = argv[k];
    if (w) attributes['argv0'] = w.literal ? w.value : w.raw;
    attributes['args'] = argv
      .slice(k + 1)
      .map((a) => (a.literal ? a.value : a.raw))
      .join(' ');
    if (wrappers.length > 0) attributes['wrappers'] = wrappers.join(' ');
    if (user !== undefined) attributes['user'] = user;
    this.add({ class: CLASS, command, tags: [...tags], objects: [], attributes });
  }
}

/** The last path component: `/bin/../bin/rm` runs `rm` (as far as a name can tell). */
function basename(p: string): string {
  const b = p.slice(p.lastIndexOf('/') + 1);
  return b === '' ? p : b;
}

/** Where `watch`'s command starts (after `-n SECS`, `-d`, …), or -1 when an option word is not literal. */
function watchCommand(argv: readonly Word[], from: number): number {
  let j = from;
  while (j < argv.length) {
    const w = argv[j]!;
    if (!w.literal) return -1;
    if (w.value === '--') return j + 1;
    if (!w.value.startsWith('-') || w.value === '-') return j;
    j += /^-[^-]*[nq]$/.test(w.value) || w.value === '--interval' ? 2 : 1;
  }
  return j;
}

/**
 * What the gateway refuses whatever policy says (CommandInput.refusal): a line it could not read, or whose
 * command it cannot name. Undefined when policy may decide.
 */
export function execRefusal(facts: readonly CommandFacts[]): { rule: string; reason: string } | undefined {
  const bad = facts.find((f) => f.tags.includes('unparsable'));
  if (bad) return { rule: 'vigil/ssh-exec-unparsable', reason: `Vigil could not read this command line (${bad.attributes['reason'] ?? 'unparsable'})` };
  const opaque = facts.find((f) => f.tags.includes('non-literal-command'));
  if (opaque) return { rule: 'vigil/ssh-exec-non-literal', reason: `Vigil cannot tell which command ${JSON.stringify(opaque.command)} runs (it depends on an expansion)` };
  return undefined;
}

/** `su`/`runuser`'s `-c CMD` / `--command=CMD` (options may come after the user name). */
function suCommand(argv: readonly Word[], from: number): string | 'non-literal' | undefined {
  for (let j = from; j < argv.length; j++) {
    const w = argv[j]!;
    if (!w.literal) return 'non-literal';
    const a = w.value;
    if (a === '--') return undefined;
    if (a === '-c' || a === '--command' || a === '-C' || a === '--session-command') {
      const n = argv[j + 1];
      if (n === undefined) return undefined;
      return n.literal ? n.value : 'non-literal';
    }
    if (a.startsWith('--command=') || a.startsWith('--session-command=')) return a.slice(a.indexOf('=') + 1);
    if (/^-[a-zA-Z]*c./.test(a) && !a.startsWith('--')) return a.slice(a.indexOf('c') + 1);
  }
  return undefined;
}
