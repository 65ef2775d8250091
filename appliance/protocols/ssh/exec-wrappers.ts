/**
 * Commands that run another command named in their arguments (`sudo -u x rm`, `env -i rm`, `xargs rm`):
 * how their options are read, so exec-facts.ts can find the command they run. Options are read the way
 * each tool's getopt does; an option word that is not literal hides where the command starts, so the caller
 * then treats the command as non-literal.
 */
import type { Word } from './shell-ast.ts';

export interface WrapperSpec {
  /** Short options that take an argument (attached `-uroot` or next word). */
  shortArg: string;
  /** Long options that take an argument (`--user=x` or `--user x`). */
  longArg: readonly string[];
  /** Positional words after the options and before the command (timeout's DURATION, chroot's NEWROOT). */
  positionals?: number;
  /** `NAME=value` words before the command are environment settings (env, sudo). */
  assignments?: boolean;
  /** Escalates privilege: the fact gets the `sudo` tag. */
  privilege?: boolean;
  /** Options after which nothing runs or only a shell runs (sudo -l, command -v). */
  noExec?: string;
  /** GNU getopt permutes: options may follow positionals. */
  permute?: boolean;
}

export const WRAPPERS: Readonly<Record<string, WrapperSpec>> = {
  sudo: { shortArg: 'ugpCDrtUTRh', longArg: ['user', 'group', 'host', 'prompt', 'close-from', 'chdir', 'role', 'type', 'other-user', 'command-timeout', 'chroot'], assignments: true, privilege: true, noExec: 'lvkKVe' },
  doas: { shortArg: 'uC', longArg: [], privilege: true, noExec: 'L' },
  pkexec: { shortArg: '', longArg: ['user'], privilege: true },
  env: { shortArg: 'uCS', longArg: ['unset', 'chdir', 'split-string', 'block-signal', 'default-signal', 'ignore-signal'], assignments: true },
  nice: { shortArg: 'n', longArg: ['adjustment'] },
  nohup: { shortArg: '', longArg: [] },
  timeout: { shortArg: 'sk', longArg: ['signal', 'kill-after'], positionals: 1 },
  command: { shortArg: '', longArg: [], noExec: 'vV' },
  builtin: { shortArg: '', longArg: [] },
  exec: { shortArg: 'a', longArg: [] },
  xargs: { shortArg: 'adEILnPs', longArg: ['arg-file', 'delimiter', 'eof', 'max-lines', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'] },
  time: { shortArg: 'fo', longArg: ['format', 'output'] },
  stdbuf: { shortArg: 'ioe', longArg: ['input', 'output', 'error'] },
  setsid: { shortArg: '', longArg: [] },
  ionice: { shortArg: 'cnpPu', longArg: ['class', 'classdata', 'pid', 'pgid', 'uid'] },
  chroot: { shortArg: '', longArg: ['userspec', 'groups'], positionals: 1 },
  busybox: { shortArg: '', longArg: [] },
  coproc: { shortArg: '', longArg: [] },
};

export type WrapperRead =
  | { kind: 'command'; index: number; user?: string; split?: string; replace?: string }
  | { kind: 'none'; noExec?: boolean }
  | { kind: 'non-literal' };

/**
 * Reads a wrapper's options from argv[from…]: the index of the command it runs, `none` (it runs none, or
 * only an interactive shell), or `non-literal` (an option word is not literal). `split` is env -S's string.
 */
export function readWrapper(name: string, spec: WrapperSpec, argv: readonly Word[], from: number): WrapperRead {
  let k = from;
  let user: string | undefined;
  let split: string | undefined;
  let replace: string | undefined;
  let positionals = spec.positionals ?? 0;
  const withUser = (v: string | undefined) => {
    if (name === 'sudo' || name === 'doas' || name === 'pkexec') user = v;
  };
  while (k < argv.length) {
    const w = argv[k]!;
    if (!w.literal) return { kind: 'non-literal' };
    const a = w.value;
    if (a === '--') {
      k++;
      break;
    }
    if (name === 'env' && a === '-') {
      k++;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const long = a.slice(2, eq < 0 ? undefined : eq);
      let value: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
      if (spec.longArg.includes(long) && eq < 0) {
        const next = argv[k + 1];
        if (next === undefined) return { kind: 'none' };
        if (!next.literal) return { kind: 'non-literal' };
        value = next.value;
        k++;
      }
      if (long === 'user') withUser(value);
      if (long === 'split-string') split = value;
      if (name === 'xargs' && long === 'replace') replace = value ?? '{}';
      if ((name === 'sudo' && ['list', 'validate', 'reset-timestamp', 'remove-timestamp', 'version', 'edit', 'help'].includes(long)) || (name === 'command' && long === 'help')) {
        return { kind: 'none', noExec: true };
      }
      k++;
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && !(name === 'nice' && /^-\d+$/.test(a))) {
      for (let j = 1; j < a.length; j++) {
        const o = a[j]!;
        if (name === 'xargs' && o === 'i') {
          replace = a.slice(j + 1) || '{}';
          break;
        }
        if (spec.noExec?.includes(o)) return { kind: 'none', noExec: true };
        if (spec.shortArg.includes(o)) {
          let value = a.slice(j + 1);
          if (value === '') {
            const next = argv[k + 1];
            if (next === undefined) return { kind: 'none' };
            if (!next.literal) return { kind: 'non-literal' };
            value = next.value;
            k++;
          }
          if (o === 'u') withUser(value);
          if (name === 'env' && o === 'S') split = value;
          if (name === 'xargs' && o === 'I') replace = value;
          break;
        }
      }
      k++;
      continue;
    }
    if (name === 'nice' && /^-\d+$/.test(a)) {
      k++;
      continue;
    }
    if (spec.assignments && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) {
      k++;
      continue;
    }
    if (positionals > 0) {
      positionals--;
      k++;
      continue;
    }
    break;
  }
  while (spec.assignments && k < argv.length && argv[k]!.literal && /^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[k]!.value)) k++;
  const extra = { ...(user === undefined ? {} : { user }), ...(replace === undefined ? {} : { replace }) };
  if (split !== undefined) return { kind: 'command', index: k, split, ...extra };
  if (k >= argv.length) return { kind: 'none' };
  return { kind: 'command', index: k, ...extra };
}

/** Shells whose `-c STRING`, script on stdin, or here-document Vigil lexes as a command line. */
export const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ksh93', 'mksh', 'ash', 'yash', 'posh', 'rbash', 'fish', 'csh', 'tcsh']);

export type ShellRead =
  | { kind: 'string'; word: Word }
  | { kind: 'script'; path: string }
  | { kind: 'stdin' }
  | { kind: 'non-literal' };

/** A shell's options: `-c STRING` (clusters like `-ec` too), a script file, or commands on stdin. */
export function readShell(argv: readonly Word[], from: number): ShellRead {
  let k = from;
  let commandMode = false;
  let stdinMode = false;
  while (k < argv.length) {
    const w = argv[k]!;
    if (!w.literal) return { kind: 'non-literal' };
    const a = w.value;
    if (a === '--' || a === '-') {
      k++;
      break;
    }
    if (a.startsWith('--')) {
      k += a === '--rcfile' || a === '--init-file' ? 2 : 1;
      continue;
    }
    if ((a.startsWith('-') || a.startsWith('+')) && a.length > 1) {
      let skip = 0;
      for (const o of a.slice(1)) {
        if (o === 'c') commandMode = true;
        else if (o === 's') stdinMode = true;
        else if (o === 'o' || o === 'O') skip++;
      }
      k += 1 + skip;
      continue;
    }
    break;
  }
  if (commandMode) {
    const w = argv[k];
    if (w === undefined) return { kind: 'stdin' };
    return w.literal ? { kind: 'string', word: w } : { kind: 'non-literal' };
  }
  if (stdinMode || k >= argv.length) return { kind: 'stdin' };
  const w = argv[k]!;
  return w.literal ? { kind: 'script', path: w.value } : { kind: 'non-literal' };
}
