/**
 * Recognising the legacy scp protocol (`scp -O`, and every client older than OpenSSH 9.0): the client runs
 * `scp -t TARGET` (upload: the target is the sink) or `scp -f PATH…` (download: the target is the source) as
 * an exec and speaks the scp protocol over its stdin/stdout. Vigil relays that protocol itself (scp-relay.ts),
 * deciding each file by its path, so it must know the exact paths the remote scp will use: the line must be
 * one plain `scp` command with literal words. Anything else that runs `scp -t`/`-f` (behind a wrapper, in a
 * pipeline, with a remote wildcard or variable) is refused: it would move files no path rule saw.
 */
import type { CommandFacts } from '../../policy/engine.ts';
import { lexShell } from './shell-lexer.ts';

export interface ScpServer {
  /** `sink`: the target receives (scp -t); `source`: the target sends (scp -f). */
  mode: 'sink' | 'source';
  recursive: boolean;
  preserve: boolean;
  /** `-d`: the target path must be a directory. */
  targetIsDirectory: boolean;
  /** Exactly one for a sink; one or more for a source, in the order the remote scp sends them. */
  paths: string[];
}

export type ScpDetection = { scp: false } | { scp: true; server: ScpServer } | { scp: true; refusal: { rule: string; reason: string } };

/** A word of scp's options that asks for server mode: `-t`, `-f`, or combined (`-rt`, `-pf`). */
const SERVER_FLAG = /^-[a-zA-Z]*[tf][a-zA-Z]*$/;
/** The options OpenSSH's scp client passes to the remote scp. */
const FLAGS = /^-[vrpdtfq]+$/;

/** Whether any command of the line is an scp server (`scp -t`, `scp -f`), wherever it sits in the line. */
function runsScpServer(facts: readonly CommandFacts[]): boolean {
  return facts.some((f) => f.command === 'scp' && String(f.attributes?.['args'] ?? '').split(/\s+/).some((w) => SERVER_FLAG.test(w)));
}

function refuse(reason: string): ScpDetection {
  return { scp: true, refusal: { rule: 'vigil/ssh-scp-unreadable', reason } };
}

export function detectScp(command: string, facts: readonly CommandFacts[]): ScpDetection {
  if (!runsScpServer(facts)) return { scp: false };
  const lex = lexShell(command);
  if (!lex.ok || lex.commands.length !== 1) return refuse('the legacy scp protocol is relayed only for a plain `scp -t`/`scp -f` command on its own');
  const c = lex.commands[0]!;
  const ctx = c.context;
  if (c.assignments.length || c.redirects.length || ctx.pipe || ctx.background || ctx.subshell || ctx.substitution) {
    return refuse('the legacy scp protocol is relayed only for a plain `scp -t`/`scp -f` command, without redirections, variables or wrappers');
  }
  if (c.argv.some((w) => !w.literal)) return refuse('the scp command names its files with a wildcard or an expansion, so Vigil cannot tell which files it moves; name them, or use sftp (scp without -O)');
  const argv = c.argv.map((w) => w.value);
  if ((argv[0] ?? '').replace(/^.*\//, '') !== 'scp') return refuse('scp runs behind another command, so Vigil cannot relay its files');
  let i = 1;
  const flags = new Set<string>();
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const w = argv[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (!FLAGS.test(w)) return refuse(`the scp command has an option Vigil does not relay (${w})`);
    for (const ch of w.slice(1)) flags.add(ch);
  }
  const paths = argv.slice(i);
  const sink = flags.has('t');
  const source = flags.has('f');
  if (sink === source) return refuse('the scp command must be either -t (receive) or -f (send)');
  if (sink && paths.length !== 1) return refuse('scp -t takes exactly one target path');
  if (source && paths.length === 0) return refuse('scp -f names no file');
  if (paths.some((p) => p === '' || p.includes('\0'))) return refuse('the scp command names an empty path');
  return {
    scp: true,
    server: { mode: sink ? 'sink' : 'source', recursive: flags.has('r'), preserve: flags.has('p'), targetIsDirectory: flags.has('d'), paths },
  };
}
