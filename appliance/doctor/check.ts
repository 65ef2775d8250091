/**
 * `vigil doctor`: what breaks evidence or enforcement, checked one concern per file (checks/), each result
 * pass, fail or unknown — unknown when the check could not look (a tool missing, a file unreadable): never
 * a pass for what was not checked. Adding a check = one file in checks/ and one line in registry.ts.
 */
import type { LoadedConfig } from '../config/load-config.ts';
import type { Db } from '../store/database.ts';

export type DoctorStatus = 'pass' | 'fail' | 'unknown';

export interface DoctorResult {
  /** The check's id, and what this result is about when a check gives several (a target, a file). */
  check: string;
  subject?: string;
  status: DoctorStatus;
  /** What was found, in plain words. */
  detail: string;
  /** What to do about a fail or unknown. */
  fix?: string;
}

export interface DoctorContext {
  configPath: string;
  /** The loaded config, or why it did not load (the config check reports it; others say unknown). */
  loaded: LoadedConfig | { error: string };
  /** The appliance database, opened read-only (undefined when it could not be opened: `dbError`). */
  db: Db | undefined;
  dbError?: string;
  /** The trust file to compare with the signing key (default: trust.json beside vigil.yaml). */
  trustPath: string;
  now: () => Date;
  /** Runs a program; undefined when it is not installed or could not run. */
  run(cmd: string, args: string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string } | undefined>;
}

export interface DoctorCheck {
  id: string;
  /** One line: what it checks. */
  title: string;
  run(ctx: DoctorContext): Promise<DoctorResult[]>;
}

/** The loaded config, or a result saying the check cannot run without it. */
export function needConfig(ctx: DoctorContext, check: string): LoadedConfig | DoctorResult {
  if ('error' in ctx.loaded) return { check, status: 'unknown', detail: 'not checked: the configuration did not load', fix: 'fix vigil.yaml first (see the config check)' };
  return ctx.loaded;
}

export function needDb(ctx: DoctorContext, check: string): Db | DoctorResult {
  if (!ctx.db) return { check, status: 'unknown', detail: `not checked: the appliance database could not be opened (${ctx.dbError ?? 'no config'})`, fix: 'run `vigil init`, or check appliance.dataDir' };
  return ctx.db;
}

export const isResult = (x: unknown): x is DoctorResult => typeof x === 'object' && x !== null && 'status' in x && 'check' in x;
