/**
 * PLACEHOLDER — replaced by exec-facts.ts (a real shell lexer, issue 10) when that lands. Until then an exec
 * command line's facts are only its first word: class `exec`, no tags, no objects, so a policy can allow or
 * block by command name (`when.commands`) and by class, nothing finer. Pipes, `sudo`, redirects and
 * subshells are NOT recognised here.
 */
import type { CommandFacts } from '../../policy/engine.ts';

export function basicExecFacts(commandLine: string): CommandFacts {
  const first = commandLine.trim().split(/\s+/)[0] ?? '';
  return { class: 'exec', command: first, tags: [], objects: [], attributes: {} };
}
