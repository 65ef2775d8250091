/**
 * Inline masking of query results, fail-closed. A RowDescription becomes a per-column plan; each DataRow
 * is scanned column by column (never as one buffer: a length prefix next to a value could glue digits onto
 * a card number) and re-encoded only when something changed. Card-security columns (CVV, track data,
 * PIN…) are withheld whole. A column whose values cannot be masked (an unknown binary type) stops the row.
 */
import { containsCardData, maskCardDataBytes } from '../../../shared/pan/index.ts';
import { isSensitiveColumn } from '../../sql/index.ts';
import type { MaskCounter } from '../../pipeline/masking.ts';
import { DataRowLayout, type FieldDescription } from './wire/index.ts';
import { CANNOT_HOLD_PAN, OID, TEXT_LIKE } from './pg-types.ts';

const REDACTED = Buffer.from('[REDACTED]');

type ColumnAction =
  | 'pass' // cannot hold a card number
  | 'scan' // text, or binary UTF-8: mask in place
  | 'bytea-hex' // text-format bytea: decode \x…, scan the bytes, re-encode
  | 'redact-text' // card-security column, text type: '[REDACTED]'
  | 'redact-null' // card-security column of another type: NULL
  | 'number-binary' // binary int8 / numeric: a card number here cannot be masked, so it becomes NULL
  | 'unmaskable'; // binary form of a type we cannot read

export interface ColumnPlan {
  name: string;
  typeOid: number;
  format: number;
  action: ColumnAction;
}

export class MaskingError extends Error {
  readonly sqlstate = '0A000';
}

export interface MaskPolicy {
  redactColumns: readonly string[];
  /** Documented exceptions: PANs in these columns reach the client unmasked (the recording stays masked). */
  unmaskColumns: readonly string[];
}

export function planColumns(fields: readonly FieldDescription[], policy: MaskPolicy): ColumnPlan[] {
  const redact = new Set(policy.redactColumns.map((c) => c.toLowerCase()));
  const unmask = new Set(policy.unmaskColumns.map((c) => c.toLowerCase()));
  return fields.map((f) => ({ name: f.name, typeOid: f.typeOid, format: f.format, action: actionFor(f, redact, unmask) }));
}

function actionFor(f: FieldDescription, redact: Set<string>, unmask: Set<string>): ColumnAction {
  const name = f.name.toLowerCase();
  if (isSensitiveColumn(name) || redact.has(name)) return f.format === 0 && TEXT_LIKE.has(f.typeOid) ? 'redact-text' : 'redact-null';
  if (unmask.has(name)) return 'pass';
  if (CANNOT_HOLD_PAN.has(f.typeOid)) return 'pass';
  if (f.format === 0) return f.typeOid === OID.bytea ? 'bytea-hex' : 'scan';
  if (TEXT_LIKE.has(f.typeOid) || f.typeOid === OID.bytea) return 'scan';
  if (f.typeOid === OID.int8 || f.typeOid === OID.numeric || f.typeOid === OID.money) return 'number-binary';
  return 'unmaskable';
}

/** True when rows of this plan may need rewriting at all (else they pass untouched, unscanned). */
export function planNeedsWork(plan: readonly ColumnPlan[]): boolean {
  return plan.some((c) => c.action !== 'pass');
}

const layout = new DataRowLayout();

/**
 * Returns the DataRow message to send: `raw` itself when nothing was masked, or a re-encoded row.
 * Throws MaskingError when a column cannot be masked (the caller withholds the row).
 */
export function maskDataRow(raw: Buffer, plan: readonly ColumnPlan[], masks: MaskCounter): { message: Buffer; values: (Buffer | null)[] | undefined } {
  layout.read(raw, 5, raw.length);
  if (layout.count !== plan.length) throw new MaskingError(`DataRow has ${layout.count} columns, RowDescription ${plan.length}`);
  let changed: (Buffer | null)[] | undefined;
  for (let i = 0; i < layout.count; i++) {
    const len = layout.lengths[i]!;
    if (len < 0) continue;
    const col = plan[i]!;
    if (col.action === 'pass') continue;
    const value = raw.subarray(layout.starts[i]!, layout.starts[i]! + len);
    let next: Buffer | null | undefined;
    switch (col.action) {
      case 'scan': {
        const m = maskCardDataBytes(value);
        if (m.masked) {
          masks.pan += m.masked;
          next = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
        }
        break;
      }
      case 'bytea-hex':
        next = maskByteaHex(value, masks);
        break;
      case 'redact-text':
        masks.redacted++;
        next = REDACTED;
        break;
      case 'redact-null':
        masks.redacted++;
        next = null;
        break;
      case 'number-binary':
        if (containsCardData(binaryNumberText(value, col.typeOid))) {
          masks.pan++;
          next = null;
        }
        break;
      case 'unmaskable':
        throw new MaskingError(`column "${col.name}" (type ${col.typeOid}) is in binary format, which Vigil cannot mask; request text results`);
    }
    if (next !== undefined) {
      changed ??= rowValues(raw);
      changed[i] = next;
    }
  }
  if (!changed) return { message: raw, values: undefined };
  return { message: encodeDataRow(changed), values: changed };
}

/** The column values of a DataRow (views into `raw`). */
export function rowValues(raw: Buffer): (Buffer | null)[] {
  layout.read(raw, 5, raw.length);
  const out: (Buffer | null)[] = new Array(layout.count);
  for (let i = 0; i < layout.count; i++) {
    const len = layout.lengths[i]!;
    out[i] = len < 0 ? null : raw.subarray(layout.starts[i]!, layout.starts[i]! + len);
  }
  return out;
}

export function encodeDataRow(values: readonly (Buffer | null)[]): Buffer {
  let size = 4 + 2;
  for (const v of values) size += 4 + (v ? v.length : 0);
  const out = Buffer.allocUnsafe(1 + size);
  out[0] = 0x44;
  out.writeUInt32BE(size, 1);
  out.writeUInt16BE(values.length, 5);
  let o = 7;
  for (const v of values) {
    if (v === null) {
      out.writeInt32BE(-1, o);
      o += 4;
    } else {
      out.writeInt32BE(v.length, o);
      v.copy(out, o + 4);
      o += 4 + v.length;
    }
  }
  return out;
}

function maskByteaHex(value: Buffer, masks: MaskCounter): Buffer | undefined {
  // Text-format bytea is "\x" + hex (bytea_output = hex, the default since 9.0); escape format is scanned as is.
  if (value.length < 2 || value[0] !== 0x5c || value[1] !== 0x78) {
    const m = maskCardDataBytes(value);
    if (!m.masked) return undefined;
    masks.pan += m.masked;
    return Buffer.from(m.bytes);
  }
  const bytes = Buffer.from(value.subarray(2).toString('latin1'), 'hex');
  const m = maskCardDataBytes(bytes);
  if (!m.masked) return undefined;
  masks.pan += m.masked;
  return Buffer.from('\\x' + Buffer.from(m.bytes).toString('hex'));
}

/** Decimal digits of a binary int8 or numeric value (enough to look for a card number). */
function binaryNumberText(v: Buffer, typeOid: number): string {
  if (typeOid === OID.int8 || typeOid === OID.money) return v.length === 8 ? v.readBigInt64BE(0).toString() : '';
  if (v.length < 8) return '';
  const ndigits = v.readUInt16BE(0);
  let s = '';
  for (let i = 0; i < ndigits && 8 + i * 2 + 2 <= v.length; i++) s += String(v.readUInt16BE(8 + i * 2)).padStart(4, '0');
  return s.replace(/^0+/, '');
}
