import { comparedOf, comparedWords, comparison, type FingerprintCheck } from '../model/evidence-id.ts';
import { formatBytes } from '../model/sessions.ts';
import type { BundleSha } from './use-evidence.ts';

/**
 * The bundle's fingerprint and the auditor's comparison with the one `vigil export` printed on the
 * appliance. The auditor may paste that value (the viewer then compares it) and confirms with the box; a
 * value that does not match cannot be confirmed. What is recorded in the reports is shown as it will read.
 */
export function FingerprintStep(props: { sha: BundleSha; check: FingerprintCheck; onCheck: (c: FingerprintCheck) => void }) {
  const sha = props.sha.state === 'done' ? props.sha.sha256 : null;
  const cmp = comparison(sha, props.check.entered);
  const recorded = comparedOf(sha, props.check);
  return (
    <section className="card fingerprint" aria-labelledby="fp-title" data-testid="fingerprint-step" data-compared={recorded}>
      <h2 id="fp-title">Bundle fingerprint</h2>
      <p className="small">
        SHA-256 of the bundle file as you received it. When the operator ran <span className="mono">vigil export</span>, it printed the SHA-256 of the file it wrote: get that value from the operator by
        another channel than the file (as for the key fingerprints) and compare. Equal values prove this is the file the appliance wrote.
      </p>
      <div className="sha" data-testid="bundle-sha256-box">
        {props.sha.state === 'done' && (
          <span className="mono" data-testid="bundle-sha256">
            {props.sha.sha256}
          </span>
        )}
        {props.sha.state === 'running' && (
          <span className="muted" data-testid="bundle-sha256-progress">
            computing the SHA-256… {props.sha.total ? `${formatBytes(props.sha.done)} of ${formatBytes(props.sha.total)}` : ''}
          </span>
        )}
        {props.sha.state === 'idle' && <span className="muted">computed once the bundle is verified</span>}
        {props.sha.state === 'error' && <span className="fail-text">the SHA-256 could not be computed: {props.sha.message}</span>}
      </div>
      <label className="small fp-entry">
        SHA-256 you received
        <input
          type="text"
          spellCheck={false}
          autoComplete="off"
          maxLength={400}
          placeholder="optional: paste the value vigil export printed, to compare it here"
          value={props.check.entered}
          onChange={(e) => props.onCheck({ entered: e.target.value, confirmed: props.check.confirmed && comparison(sha, e.target.value) !== 'mismatch' })}
        />
      </label>
      {cmp === 'match' && <div className="pass-text small">✓ matches the SHA-256 of this bundle</div>}
      {cmp === 'mismatch' && (
        <div className="fail-text small" role="status">
          ✗ does not match: this is not the file the appliance exported, or the value was mistyped. Do not confirm; ask the operator.
        </div>
      )}
      {cmp === 'unreadable' && <div className="muted small">no SHA-256 (64 hexadecimal digits) found in what you entered</div>}
      <label className="fp-confirm">
        <input
          type="checkbox"
          checked={props.check.confirmed && recorded === 'yes'}
          disabled={sha === null || cmp === 'mismatch' || cmp === 'unreadable'}
          onChange={(e) => props.onCheck({ ...props.check, confirmed: e.target.checked })}
        />{' '}
        I compared this SHA-256 with the one printed by vigil export on the appliance, and they are the same
      </label>
      <div className="small muted" data-testid="fingerprint-recorded">
        The report will record: fingerprint compared by the auditor: <strong>{comparedWords(recorded)}</strong>
        {recorded === 'yes' ? ' — recorded in the report.' : '.'}
      </div>
    </section>
  );
}
