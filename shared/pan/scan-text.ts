/**
 * The same scan over a JS string, in place (charCodeAt; the input is never decoded or copied). Strings have no
 * word loads, so this one samples every 4th code unit: a "DDDD?DDDD" run start (see scan-bytes.ts) has 4
 * digits in a row, so some sample lands on them, and then the code unit 5 further on is a digit too; only then
 * does it find the run's ends. A candidate's neighbourhood is copied into a small window of ASCII codes
 * (anything ≥ 0x80 becomes 0x80) so the rules in candidate.ts run unchanged. Offsets are UTF-16 code units.
 */
import { candidateAt } from './candidate.ts';
import type { CardDataMatch } from './types.ts';

// The rules look at most 41 characters before a run's start (8 IBAN groups) and 80 after it (a capped track 1
// plus its '?'); inside the window, an index below 0 means the start of the input.
const BEFORE = 48;
const AFTER = 84;
const scratch = new Uint8Array(BEFORE + AFTER);

function isDigitCode(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Appends every match to `out`; with `out` null, stops at the first and says whether there was one. */
export function scanText(t: string, out: CardDataMatch[] | null): boolean {
  const n = t.length;
  let floor = 0; // end of the previous match
  let lowest = 0; // end of what was looked at: runs are not followed back past it
  let i = 3;
  while (i < n) {
    if (!isDigitCode(t.charCodeAt(i)) || !isDigitCode(t.charCodeAt(i + 5))) {
      i += 4;
      continue;
    }
    let s = i;
    while (s > lowest && isDigitCode(t.charCodeAt(s - 1))) s--;
    let e = i + 1;
    while (e < n && isDigitCode(t.charCodeAt(e))) e++;
    let next = e;
    if (worthALook(t, n, s, e)) {
      const m = candidateInWindow(t, n, s, e, floor);
      if (m !== undefined) {
        if (out === null) return true;
        out.push(m);
        next = floor = m.end;
      }
    }
    lowest = next;
    // Any 4 code units from `next` on hold a sample.
    i = next + 3;
  }
  return out !== null && out.length > 0;
}

function candidateInWindow(t: string, n: number, s: number, e: number, floor: number): CardDataMatch | undefined {
  const base = s > BEFORE ? s - BEFORE : 0;
  const lim = Math.min(n, s + AFTER);
  for (let k = base; k < lim; k++) {
    const c = t.charCodeAt(k);
    scratch[k - base] = c < 0x80 ? c : 0x80;
  }
  const m = candidateAt(scratch, lim - base, s - base, e - base, floor - base);
  if (m === undefined) return undefined;
  m.start += base;
  m.end += base;
  return m;
}

/** Same filter as in scan-bytes.ts. */
function worthALook(t: string, n: number, s: number, e: number): boolean {
  const len = e - s;
  const first = t.charCodeAt(s);
  if (len === 4) {
    if (first < 0x32 || first > 0x36 || e + 4 >= n) return false;
    const sep = t.charCodeAt(e);
    if (sep !== 0x20 && sep !== 0x2d) return false;
    for (let k = e + 1; k <= e + 4; k++) if (!isDigitCode(t.charCodeAt(k))) return false;
    return true;
  }
  if (len < 12 || len > 21) return false;
  if (s > 0 && t.charCodeAt(s - 1) === 0x25) return true;
  return len <= 19 && first >= 0x32 && first <= 0x36;
}
