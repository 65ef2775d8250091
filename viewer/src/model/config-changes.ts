/**
 * Configuration changes as an auditor reads them (the verifier's `configChanges`, from `config.changed` log
 * entries): when, which vigil.yaml (SHA-256) replaced which, and what triggered it. The page and the report
 * say it in the same words. A start-up change logs no previous digest: the digest of the change before it in
 * this log excerpt is shown instead, marked as such; who edited the file or sent the signal is never logged.
 */
import type { ConfigChange } from '../../../shared/evidence/verify/config-changes.ts';
import type { VerificationReport } from './types.ts';

export interface ConfigChangeRow {
  entry: number;
  at: string;
  digest: string;
  /** The configuration it replaced: as logged, as the previous change in this excerpt names it, or unknown. */
  previous: string;
  previousSource: 'logged' | 'previous-entry' | 'unknown';
  /** What triggered the change, in words. */
  trigger: string;
  /** Sections applied at once / waiting for a restart (reloads only), in words; '' when none are logged. */
  sections: string;
}

export const CONFIG_WHO = 'The log records what triggered each change, not who edited vigil.yaml or sent the signal: match them with your change records.';

export function configChangeRows(r: VerificationReport): ConfigChangeRow[] {
  const list: ConfigChange[] = r.configChanges ?? [];
  // `vigil init` logs the first change of an appliance's log; a later start logs one when the file changed.
  const fromStart = r.bundle?.log.from === 0;
  return list.map((c, i) => {
    const before = i > 0 ? list[i - 1]!.digest : null;
    const previousSource = c.previousDigest ? 'logged' : before ? 'previous-entry' : 'unknown';
    return {
      entry: c.entry,
      at: c.at,
      digest: c.digest ?? 'not logged',
      previous: c.previousDigest ?? before ?? (i === 0 ? 'none logged before it in this excerpt' : 'not logged'),
      previousSource,
      trigger: i === 0 && fromStart && c.reason === null ? 'vigil init (the first configuration of this appliance)' : triggerWords(c),
      sections: [c.applied.length ? `applied now: ${c.applied.join(', ')}` : '', c.restartNeeded.length ? `take effect on restart: ${c.restartNeeded.join(', ')}` : ''].filter(Boolean).join('; '),
    };
  });
}

function triggerWords(c: ConfigChange): string {
  if (c.reason === 'reload') return 'reload (SIGHUP to vigil serve)';
  if (c.reason === null) return 'start-up with a vigil.yaml that differs from the one the appliance last ran';
  return `reason logged: ${c.reason}`;
}

/** "(the previous change in this log)" after a digest that was not logged with the change itself. */
export function previousNote(row: ConfigChangeRow): string {
  return row.previousSource === 'previous-entry' ? ' (not logged with this change: the digest of the change before it)' : '';
}

/** Whether the log-inclusion check proved the entries (else they are what the bundle claims). */
export function configChangesProven(r: VerificationReport): boolean {
  return r.checks.find((c) => c.id === 'log-inclusion')?.status === 'pass';
}
