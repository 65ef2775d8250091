/** How result values and bind parameters appear in the recording: masked, bounded, readable. */
import type { MaskCounter } from '../../pipeline/masking.ts';

export const MAX_RECORDED_VALUE_CHARS = 256;
export const MAX_RECORDED_SQL_BYTES = 64 * 1024;

export function recordValue(v: Buffer | null, format: number, masks: MaskCounter | undefined): string | null {
  if (v === null) return null;
  if (format !== 0) return `<binary ${v.length} bytes>`;
  const text = v.toString('utf8');
  const masked = masks ? masks.text(text) : text;
  return masked.length > MAX_RECORDED_VALUE_CHARS ? `${masked.slice(0, MAX_RECORDED_VALUE_CHARS)}…[${masked.length} chars]` : masked;
}

export function truncateSql(sql: string): string {
  if (sql.length <= MAX_RECORDED_SQL_BYTES) return sql;
  return `${sql.slice(0, MAX_RECORDED_SQL_BYTES)}…[${sql.length - MAX_RECORDED_SQL_BYTES} more characters not recorded]`;
}
