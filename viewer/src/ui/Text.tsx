import { Fragment } from 'react';

// Control characters, C1 controls and bidirectional overrides are drawn as visible codes: recorded text
// cannot reorder what the auditor reads, hide characters, or smuggle terminal escapes into the page.
const HIDDEN = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

function code(c: string): string {
  const n = c.charCodeAt(0);
  if (n === 0x1b) return 'ESC';
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `U+${n.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Untrusted text from a bundle, shown safely (React escapes HTML; this shows invisible characters). */
export function Txt({ text, max = 4000, total }: { text: string; max?: number; /** Length of the original when `text` was already cut. */ total?: number }) {
  const cut = text.length > max ? text.slice(0, max) : text;
  const parts: (string | { c: string })[] = [];
  let last = 0;
  for (const m of cut.matchAll(HIDDEN)) {
    if (m.index! > last) parts.push(cut.slice(last, m.index));
    parts.push({ c: m[0] });
    last = m.index! + m[0].length;
  }
  if (last < cut.length) parts.push(cut.slice(last));
  return (
    <>
      {parts.map((p, i) =>
        typeof p === 'string' ? (
          <Fragment key={i}>{p}</Fragment>
        ) : (
          <span key={i} className="ctl" title="control character in the recorded text">
            {code(p.c)}
          </span>
        ),
      )}
      {(total ?? text.length) > cut.length && <span className="muted"> … ({((total ?? text.length) - cut.length).toLocaleString('en')} more characters)</span>}
    </>
  );
}

/** A one-line plain string for table cells and titles: control characters replaced by '·'. */
export function oneLine(s: string, max = 300): string {
  const t = s.length > max ? s.slice(0, max) + '…' : s;
  return t.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '·');
}
