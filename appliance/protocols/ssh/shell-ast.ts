import { VigilError } from '../../../shared/errors.ts';

/**
 * What the shell lexer (shell-lexer.ts) produces: the simple commands of an `exec` command line, in source
 * order (a command substitution's commands come before the command whose word holds them), with their words.
 */

/** One shell word. `value` is the word after quote removal; it is what the shell passes only when `literal`. */
export interface Word {
  /** The source text of the word, quotes included. */
  raw: string;
  value: string;
  /** False when the word holds an expansion (`$x`, `$(…)`, backticks, `$((…))`, globs, `~`, `{a,b}`): its value is then unknown. */
  literal: boolean;
}

export interface HereDoc {
  delimiter: string;
  /** A quoted delimiter (`<<'EOF'`) makes the body literal; an unquoted one lets it expand (`$(…)` runs). */
  quoted: boolean;
  body: string;
}

export interface Redirect {
  op: string;
  /** The file descriptor number written before the operator (`2>`), when there is one. */
  fd?: string;
  target: Word;
  heredoc?: HereDoc;
}

/** Where a simple command sits. */
export interface CommandContext {
  pipe: boolean;
  background: boolean;
  /** Inside `( … )`. */
  subshell: boolean;
  /** Inside `$(…)`, backticks or a process substitution `<(…)` / `>(…)`. */
  substitution: boolean;
  processSubstitution: boolean;
}

export interface SimpleCommand {
  assignments: Word[];
  argv: Word[];
  redirects: Redirect[];
  context: CommandContext;
}

export type ShellFeature =
  | 'single-quote'
  | 'double-quote'
  | 'backslash'
  | 'line-continuation'
  | 'ansi-c-quote'
  | 'locale-quote'
  | 'comment'
  | 'sequence'
  | 'and-or'
  | 'pipe'
  | 'background'
  | 'subshell'
  | 'group'
  | 'redirect'
  | 'heredoc'
  | 'herestring'
  | 'assignment'
  | 'command-substitution'
  | 'backtick'
  | 'arithmetic'
  | 'parameter-expansion'
  | 'process-substitution'
  | 'glob'
  | 'tilde'
  | 'brace-expansion'
  | 'equals-expansion'
  | 'keyword'
  | 'case'
  | 'loop'
  | 'function'
  | 'conditional';

export type ShellLexErrorCode =
  | 'shell.too-long'
  | 'shell.nul'
  | 'shell.invalid-utf8'
  | 'shell.unterminated'
  | 'shell.syntax'
  | 'shell.too-deep'
  | 'shell.too-many';

export class ShellLexError extends VigilError {
  readonly offset: number;
  constructor(code: ShellLexErrorCode, message: string, offset: number) {
    super(code, message);
    this.name = 'ShellLexError';
    this.offset = offset;
  }
}

export type LexResult =
  | { ok: true; commands: SimpleCommand[]; features: ShellFeature[] }
  | { ok: false; code: ShellLexErrorCode; message: string; offset: number };

export interface LexLimits {
  /** Bytes of UTF-8 (default 64 KiB). */
  maxBytes?: number;
  /** Nesting of substitutions, subshells and parameter expansions (default 16). */
  maxDepth?: number;
  /** Simple commands in one line, nested ones included (default 1024). */
  maxCommands?: number;
}
