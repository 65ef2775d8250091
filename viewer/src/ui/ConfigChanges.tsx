/**
 * Configuration changes from the signed log (`config.changed`): which vigil.yaml governed the appliance
 * from when, each change with its old → new SHA-256 and what triggered it. Proven only as far as the
 * log-inclusion check passed — otherwise the table says the entries are what the bundle claims.
 */
import { CONFIG_WHO, configChangeRows, configChangesProven, previousNote } from '../model/config-changes.ts';
import { formatTimeMs, plural } from '../model/report-text.ts';
import type { VerificationReport } from '../model/types.ts';
import { oneLine } from './Text.tsx';

const SHOWN = 500;

export function ConfigChanges({ report }: { report: VerificationReport }) {
  const rows = configChangeRows(report);
  if (rows.length === 0) return null;
  const proven = configChangesProven(report);
  return (
    <section className="card" aria-labelledby="config-title" data-testid="config-changes">
      <h2 id="config-title">Configuration changes ({rows.length})</h2>
      <p className="muted small">
        From the signed log (<code>config.changed</code>): each vigil.yaml the appliance ran with, by SHA-256 — compare it with <code>sha256sum vigil.yaml</code> of the version in your change records. {CONFIG_WHO}
        {proven ? ' Covered by the verified checkpoint.' : <strong style={{ color: 'var(--fail)' }}> The log did not verify: these entries are what the bundle claims, not proven.</strong>}
      </p>
      <table className="plain" data-testid="config-changes-table">
        <thead>
          <tr>
            <th>When (UTC)</th>
            <th>Configuration (SHA-256 of vigil.yaml): old → new</th>
            <th>Triggered by</th>
            <th>Log entry</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, SHOWN).map((c) => (
            <tr key={c.entry} data-entry={c.entry} data-digest={c.digest}>
              <td style={{ whiteSpace: 'nowrap' }}>{formatTimeMs(c.at)}</td>
              <td className="mono small">
                <div data-testid="config-previous" className={c.previousSource === 'logged' ? '' : 'muted'}>
                  {oneLine(c.previous, 80)}
                  {previousNote(c) && <span className="muted"> {previousNote(c).trim()}</span>}
                </div>
                <div data-testid="config-digest">→ {oneLine(c.digest, 80)}</div>
              </td>
              <td>
                {oneLine(c.trigger, 120)}
                {c.sections && <div className="muted small">{oneLine(c.sections, 400)}</div>}
              </td>
              <td>{c.entry}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > SHOWN && <p className="muted">… and {plural(rows.length - SHOWN, 'more change')}, in the report's JSON.</p>}
    </section>
  );
}
