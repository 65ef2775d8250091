/**
 * Line breaking for the PDF report, independent of the PDF library (a width function is passed in) so it
 * is unit-tested in Node. An identifier — a session id, a request id, a SHA-256, an identity — is never
 * broken mid-token: a word that does not fit its column is first set smaller (down to MIN_SCALE of the
 * size) on a line of its own; only a word that still does not fit is broken, after a separator
 * (/ : @ , ; = &) when it has one, and by characters as the very last resort (a 200-character literal in
 * a recorded command cannot fit any column).
 */

export type Measure = (text: string, size: number) => number;

export interface Line {
  text: string;
  /** The font size of this line: the cell's size, or smaller to keep an identifier whole. */
  size: number;
}

/** How far a word may be shrunk to stay whole (a readable floor). */
export const MIN_SCALE = 0.7;

const SOFT_BREAK = /(?<=[/:@,;=&])/;

export function wrapText(text: string, measure: Measure, size: number, max: number): Line[] {
  const lines: Line[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    const start = lines.length;
    const flush = () => {
      lines.push({ text: line.trimEnd(), size });
      line = '';
    };
    for (const word of para.split(/(\s+)/)) {
      if (word === '') continue;
      // White space that would start a continuation line disappears (indentation at the start stays).
      if (line === '' && lines.length > start && /^\s+$/.test(word)) continue;
      if (measure(line + word, size) <= max) {
        line += word;
        continue;
      }
      if (/^\s+$/.test(word)) continue; // white space at a break disappears
      if (line.trim()) flush();
      line = '';
      if (measure(word, size) <= max) {
        line = word;
        continue;
      }
      // Too wide even alone: keep it whole, smaller, on its own line.
      const fit = fittingSize(word, measure, size, max);
      if (fit !== null) {
        lines.push({ text: word, size: fit });
        continue;
      }
      // Wider than any readable size: break after separators, then by characters.
      for (const piece of breakWord(word, measure, size, max)) lines.push({ text: piece, size });
    }
    if (line.trim() || lines.length === 0 || para === '') lines.push({ text: line.trimEnd(), size });
  }
  return lines;
}

/** The largest size, at most `size` and at least MIN_SCALE of it, at which `word` fits; null if none. */
export function fittingSize(word: string, measure: Measure, size: number, max: number): number | null {
  const at = measure(word, size);
  if (at <= max) return size;
  const s = Math.floor(((size * max) / at) * 100) / 100;
  return s >= size * MIN_SCALE && measure(word, s) <= max ? s : null;
}

function breakWord(word: string, measure: Measure, size: number, max: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const part of word.split(SOFT_BREAK)) {
    if (measure(line + part, size) <= max) {
      line += part;
      continue;
    }
    if (line) out.push(line);
    line = part;
    while (measure(line, size) > max) {
      // The longest prefix that fits (binary search: a recorded literal may be thousands of characters).
      let lo = 1;
      let hi = line.length - 1;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (measure(line.slice(0, mid), size) <= max) lo = mid;
        else hi = mid - 1;
      }
      out.push(line.slice(0, lo));
      line = line.slice(lo);
    }
  }
  if (line) out.push(line);
  return out;
}
