/**
 * Wording for the reports: plurals (shared/text/plural.ts), and times in UTC with milliseconds
 * (a report's times prove an order — requested before approved before run — so they keep it).
 */

export { fixPlurals, plural, pluralOf } from '../../../shared/text/plural.ts';

/** "2026-11-29 19:00:10.755 UTC" (the ISO text itself when it is not a time). */
export function formatTimeMs(iso: string | undefined | null): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso.slice(0, 40);
  return new Date(t).toISOString().replace('T', ' ').replace(/Z$/, ' UTC');
}
