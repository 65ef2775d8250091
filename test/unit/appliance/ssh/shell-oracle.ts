/**
 * Real shells as oracles for the lexer tests: what bash (and dash) actually make of a command line.
 * Nothing here runs a real program: commands are looked up in an empty PATH, and bash's
 * `command_not_found_handle` records each command it would have run instead of running it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type ShellName = 'bash' | 'dash';

function splitNul(out: Buffer): string[] {
  const parts = out.toString('utf8').split('\0');
  parts.pop(); // after the last NUL
  return parts;
}

/**
 * The words of `line` as the shell parses them: LINE becomes the arguments of a function that prints each,
 * NUL-ended (LINE is last in the script, so a trailing backslash or comment means what it means alone).
 */
export function shellWords(shell: ShellName, line: string, cwd?: string, env: Record<string, string> = {}): string[] {
  const script = `vigil_words() { printf '%s\\0' "$@"; }; vigil_words ${line}`;
  return splitNul(execFileSync(`/usr/bin/${shell}`, ['-c', script], { cwd, env: { PATH: '/usr/bin:/bin', ...env } }));
}

/** Whether `bash -n` (parse only) accepts the line. */
export function bashParses(line: string): boolean {
  return spawnSync('/usr/bin/bash', ['-n', '-c', line], { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } }).status === 0;
}

export interface Sandbox {
  dir: string;
  /** Each command bash tried to run for `line` (argv), in an empty PATH where nothing exists. */
  executed(line: string): string[][];
  close(): void;
}

export function sandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sh-oracle-'));
  const emptyPath = join(dir, 'empty-path');
  const work = join(dir, 'work');
  mkdirSync(emptyPath);
  mkdirSync(work);
  let runs = 0;
  // One file per command run: the commands of a pipeline run at once and would interleave in one file.
  const handler = `command_not_found_handle() { printf '%s\\0' "$@" > "$VIGIL_ORACLE_LOG/$BASHPID-$RANDOM$RANDOM"; return 0; }\n`;
  return {
    dir,
    executed(line: string): string[][] {
      // A directory per run: a process substitution may still write after bash has exited.
      const log = join(dir, `log-${++runs}`);
      mkdirSync(log);
      spawnSync('/usr/bin/bash', ['-c', handler + line], {
        cwd: work,
        env: { PATH: emptyPath, VIGIL_ORACLE_LOG: log, HOME: work },
        stdio: 'ignore',
        timeout: 10_000,
      });
      // A command still starting (in the background) may have made its file and not written it yet.
      return readdirSync(log)
        .map((f) => splitNul(readFileSync(join(log, f))))
        .filter((r) => r.length > 0);
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
