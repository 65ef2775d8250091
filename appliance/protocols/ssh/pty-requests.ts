/**
 * What the requests that shape a session channel leave behind before it runs something: the terminal
 * (`pty-req`, refused when the client certificate lacks permit-pty), its size as later `window-change`s set
 * it, and the environment variables policy allows (`ssh.env` globs; others are refused and recorded by
 * name only, their value never). The channel that then runs (exec or shell) asks the target for the same.
 */
import type { PseudoTtyInfo, PseudoTtyOptions } from 'ssh2';
import { globMatch } from '../../policy/glob.ts';

export interface PtyRequest {
  term: string;
  cols: number;
  rows: number;
  width: number;
  height: number;
  modes: PseudoTtyInfo['modes'] | undefined;
}

/** The terminal size and type kept from a pty-req (bounded: a client's numbers are not trusted). */
export function ptyOf(info: PseudoTtyInfo): PtyRequest {
  return {
    term: String(info.term ?? 'vt100').slice(0, 64),
    cols: clamp(info.cols),
    rows: clamp(info.rows),
    width: clamp(info.width, 65535),
    height: clamp(info.height, 65535),
    modes: info.modes ?? undefined,
  };
}

export function clamp(n: unknown, max = 4096): number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? Math.min(n, max) : 0;
}

/** How ssh2's Client asks the target for this terminal. */
export function ptyOptions(p: PtyRequest): PseudoTtyOptions {
  return { term: p.term, cols: p.cols, rows: p.rows, width: p.width, height: p.height, ...(p.modes ? { modes: p.modes } : {}) };
}

/** The `pty` field of a `channel.open` event. */
export function ptyEvidence(p: PtyRequest): { term: string; cols: number; rows: number } {
  return { term: p.term, cols: p.cols, rows: p.rows };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Whether policy lets a client set this variable on the target (a name a shell would accept, matching a glob). */
export function envAllowed(name: string, allow: readonly string[]): boolean {
  return ENV_NAME.test(name) && allow.some((g) => globMatch(g, name));
}

/** The state a session channel's early requests build up. */
export class ChannelSetup {
  pty: PtyRequest | undefined;
  readonly env: Record<string, string> = {};
  /** Applies a size change to the running channel's target side (set once the target channel exists). */
  resize: ((cols: number, rows: number, width: number, height: number) => void) | undefined;
  /** Sends a signal to the running channel's target side (set once the target channel exists). */
  signal: ((name: string) => void) | undefined;
}
