import { useEffect, useRef, useState } from 'react';

/** Asks for the auditor key's passphrase. The passphrase goes to the worker and is not kept. */
export function PassphraseDialog(props: { keyName: string; error?: string | undefined; onCancel: () => void; onSubmit: (passphrase: string) => Promise<void> }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), [props.error]);
  return (
    <div className="modal-back">
      <form
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="pp-title"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          const p = value;
          setValue('');
          try {
            await props.onSubmit(p);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h2 id="pp-title">Passphrase for the auditor key</h2>
        <p className="muted small">
          <span className="mono">{props.keyName}</span> is protected by a passphrase. It unlocks the key in memory only, for this window.
        </p>
        <input ref={input} type="password" aria-label="Passphrase" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} disabled={busy} />
        {props.error && (
          <div className="error" role="alert">
            {props.error}
          </div>
        )}
        {busy && <p className="muted small">Unlocking (this takes a moment on purpose)…</p>}
        <div className="row">
          <button type="button" onClick={props.onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !value}>
            Unlock
          </button>
        </div>
      </form>
    </div>
  );
}
