/**
 * Configuration changes the appliance logged (`config.changed` entries: at init, at a start with a changed
 * vigil.yaml, and at each SIGHUP reload that changed it), so an auditor can tell which configuration
 * version (by SHA-256) governed which period. Read from the signed log: as trustworthy as log inclusion.
 */
import type { LogEntry } from '../log-entry.ts';

export interface ConfigChange {
  entry: number;
  at: string;
  digest: string | null;
  previousDigest: string | null;
  /** 'reload' (SIGHUP) or null (init / start-up, which log no reason). */
  reason: string | null;
  /** Sections the reload applied, and those that changed but wait for a restart. */
  applied: string[];
  restartNeeded: string[];
}

const str = (v: unknown, max = 128): string | null => (typeof v === 'string' ? v.slice(0, max) : null);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 32).map((x) => x.slice(0, 64)) : []);

export function configChange(e: LogEntry): ConfigChange | undefined {
  if (e.type !== 'config.changed') return undefined;
  const f: Record<string, unknown> = e;
  return { entry: e.i, at: e.t, digest: str(f['digest']), previousDigest: str(f['previousDigest']), reason: str(f['reason'], 32), applied: list(f['applied']), restartNeeded: list(f['restartNeeded']) };
}
