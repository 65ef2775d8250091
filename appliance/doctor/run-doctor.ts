/** Runs every check of the registry (or a chosen few) against an appliance directory. */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describeError } from '../../shared/errors.ts';
import { loadConfig } from '../config/load-config.ts';
import { openDatabase, type Db } from '../store/database.ts';
import type { DoctorCheck, DoctorContext, DoctorResult } from './check.ts';
import { DOCTOR_CHECKS } from './registry.ts';

export interface DoctorOptions {
  configPath: string;
  trustPath?: string;
  checks?: readonly DoctorCheck[];
  now?: () => Date;
}

export interface DoctorReport {
  ok: boolean;
  counts: Record<'pass' | 'fail' | 'unknown', number>;
  results: DoctorResult[];
}

function run(cmd: string, args: string[], timeoutMs = 5000): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined);
      if (err && err.killed) return resolve(undefined);
      resolve({ code: typeof err?.code === 'number' ? err.code : err ? 1 : 0, stdout, stderr });
    });
  });
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  let loaded: DoctorContext['loaded'];
  try {
    loaded = loadConfig(o.configPath);
  } catch (e) {
    loaded = { error: describeError(e) };
  }
  let db: Db | undefined;
  let dbError: string | undefined;
  if (!('error' in loaded)) {
    try {
      db = openDatabase(join(loaded.resolvePath(loaded.config.appliance.dataDir), 'vigil.db'), { readonly: true });
    } catch (e) {
      dbError = describeError(e);
    }
  }
  const ctx: DoctorContext = { configPath: o.configPath, loaded, db, ...(dbError ? { dbError } : {}), trustPath: o.trustPath ?? join(dirname(o.configPath), 'trust.json'), now: o.now ?? (() => new Date()), run };
  const results: DoctorResult[] = [];
  try {
    for (const c of o.checks ?? DOCTOR_CHECKS) {
      try {
        results.push(...(await c.run(ctx)));
      } catch (e) {
        // A check that breaks says so: it is not a pass.
        results.push({ check: c.id, status: 'unknown', detail: `the check itself failed: ${describeError(e)}` });
      }
    }
  } finally {
    db?.close();
  }
  const counts = { pass: 0, fail: 0, unknown: 0 };
  for (const r of results) counts[r.status]++;
  return { ok: counts.fail === 0, counts, results };
}
