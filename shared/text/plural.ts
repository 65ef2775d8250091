/**
 * Plurals that agree with their number, for text Vigil writes (the CLI and the viewer say "1 session",
 * never "1 session(s)"). Recorded evidence is never reworded.
 */

/** "1 session", "2 sessions", "1 entry", "3 entries", "1 key". */
export function plural(n: number, word: string, many?: string): string {
  return `${n} ${n === 1 ? word : (many ?? pluralOf(word))}`;
}

export function pluralOf(word: string): string {
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}

/**
 * Agrees the verifier's "N word(s)" with N, where up to two words stand between ("4 complete archive(s)").
 * Only for text Vigil wrote (check summaries, reasons): recorded evidence is never reworded.
 */
export function fixPlurals(text: string): string {
  return text
    .replace(/\b(\d+)((?:\s+[A-Za-z][\w-]*){0,2}?)\s+([A-Za-z][\w-]*?)\((s|es)\)/g, (_m, n: string, between: string, word: string) => `${n}${between} ${Number(n) === 1 ? word : pluralOf(word)}`)
    .replace(/\b([A-Za-z][\w-]*?)\((s|es)\)/g, (_m, word: string) => pluralOf(word));
}
