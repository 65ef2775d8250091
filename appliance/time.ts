/** One time format everywhere in evidence: ISO 8601 UTC with milliseconds. */
export function isoTime(d: Date = new Date()): string {
  return d.toISOString();
}
