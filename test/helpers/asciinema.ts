/**
 * Runs the real asciinema on a cast file. `asciinema cat` opens /dev/tty, which a CI job or a
 * detached shell does not have, so it runs under `script` (a pseudo-terminal) with `-onlcr` so
 * the bytes come out exactly as the cast holds them.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function asciinema(args: string[], timeoutMs = 20_000): SpawnSyncReturns<string> {
  const line = `stty -onlcr 2>/dev/null; exec asciinema ${args.map(quote).join(' ')}`;
  return spawnSync('script', ['-qec', line, '/dev/null'], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}
