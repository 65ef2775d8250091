/**
 * The exact bytes an approval binds for a PostgreSQL command: what the server will execute, unambiguously.
 *
 *   "vigil-pg-command-v1" 0x00
 *   kind          u8     'Q' simple Query, 'E' Execute of a portal
 *   sql length    u32    then the statement text exactly as the client sent it (UTF-8, validated)
 *   param count   u16
 *   per param     u16 format (0 text, 1 binary), i32 length (-1 for NULL, never confused with a value), bytes
 *
 * The pipeline hashes session id ‖ 0x00 ‖ these bytes with a key only the appliance holds (a plain hash of a
 * command with a card number in a parameter could be brute-forced from its masked display).
 */
import { formatOf } from './wire/index.ts';

const MAGIC = Buffer.from('vigil-pg-command-v1\0', 'latin1');

export function exactCommandBytes(kind: 'Q' | 'E', sql: Buffer, params: readonly (Buffer | null)[] = [], formats: readonly number[] = []): Buffer {
  let size = MAGIC.length + 1 + 4 + sql.length + 2;
  for (const p of params) size += 2 + 4 + (p?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  let o = MAGIC.copy(out, 0);
  out[o++] = kind.charCodeAt(0);
  o = out.writeUInt32BE(sql.length, o);
  o += sql.copy(out, o);
  o = out.writeUInt16BE(params.length, o);
  params.forEach((p, i) => {
    o = out.writeUInt16BE(formatOf(formats, i), o);
    o = out.writeInt32BE(p === null ? -1 : p.length, o);
    if (p) o += p.copy(out, o);
  });
  return out;
}
