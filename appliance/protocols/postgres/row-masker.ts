/**
 * Inline masking of query results, fail-closed, by the plan provenance/mask-plan.ts made for the result.
 * Each DataRow is masked column by column (never as one buffer: a length prefix next to a value could glue
 * digits onto a card number) and re-encoded only when something changed. A column whose values cannot be
 * masked (an unknown binary type) stops the row.
 */
import { containsCardData, maskCardDataBytes } from '../../../shared/pan/index.ts';
import type { MaskCounter } from '../../pipeline/masking.ts';
import type { ColumnClass } from './provenance/column-classes.ts';
import { redactedValue, type ColumnPlan } from './provenance/mask-plan.ts';
import { maskJsonRow } from './provenance/structured-values.ts';
import { OID } from './pg-types.ts';
import { DataRowLayout } from './wire/index.ts';

export type { ColumnPlan } from './provenance/mask-plan.ts';

export class MaskingError extends Error {
  readonly sqlstate = '0A000';
}

export interface MaskPolicy {
  redactColumns: readonly string[];
  /** Documented exceptions: PANs in these columns reach the client unmasked (the recording stays masked). */
  unmaskColumns: readonly string[];
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
    const next = maskValue(value, col, masks);
    if (next !== undefined) {
      changed ??= rowValues(raw);
      changed[i] = next;
    }
  }
  if (!changed) return { message: raw, values: undefined };
  return { message: encodeDataRow(changed), values: changed };
}

/** The masked value, or undefined when it passes unchanged. */
function maskValue(value: Buffer, col: ColumnPlan, masks: MaskCounter): Buffer | null | undefined {
  switch (col.action) {
    case 'pass':
      return undefined;
    case 'scan':
    case 'scan-strict': {
      const m = maskCardDataBytes(value, { strict: col.action === 'scan-strict' });
      if (!m.masked) return undefined;
      masks.pan += m.masked;
      return Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    }
    case 'bytea-hex':
      return maskByteaHex(value, masks);
    case 'number':
      return panNumber(value.toString('latin1'), masks);
    case 'number-binary':
      return panNumber(binaryNumberText(value, col.typeOid), masks);
    case 'strict-or-null':
      if (!containsCardData(value, { strict: true })) return undefined;
      masks.pan++;
      return null;
    case 'mask-pan':
      return maskPanColumn(value, masks);
    case 'redact':
      masks.redacted++;
      return redactedValue(col.typeOid, col.format);
    case 'json-row': {
      const text = value.toString('utf8');
      const out = maskJsonRow(text, col.shape!, fieldMasker(masks), col.typeOid === OID.jsonb);
      if (out === undefined) {
        // Not the shape Vigil expected: redact it whole rather than guess.
        masks.redacted++;
        return redactedValue(col.typeOid, col.format);
      }
      return out === text ? undefined : Buffer.from(out);
    }
    case 'unmaskable':
      throw new MaskingError(`column "${col.name}" (type ${col.typeOid}) is in binary format, which Vigil cannot mask; request text results`);
  }
}

/** How a field of a row is masked, by its column's class. */
function fieldMasker(masks: MaskCounter) {
  return (v: string, cls: ColumnClass): string => {
    if (cls === 'sad') {
      masks.redacted++;
      return '[REDACTED]';
    }
    if (cls === 'pan') {
      const m = maskPanColumn(Buffer.from(v), masks);
      return m === undefined || m === null ? v : m.toString('utf8');
    }
    return cls === 'cardholder' ? masks.strict(v) : masks.text(v);
  };
}

/**
 * A value of a PAN column: every ASCII digit but the first 6 and the last 4 becomes '*' (all of them when
 * there are fewer than 12: showing 6 + 4 of a short value would show it whole), whether or not the value
 * passes a card-number check; then strict mode masks what other digits (full-width…) may hold.
 */
export function maskPanColumn(value: Buffer, masks: MaskCounter): Buffer | undefined {
  let digits = 0;
  for (const b of value) if (b >= 0x30 && b <= 0x39) digits++;
  const out = Buffer.from(value);
  let seen = 0;
  let changed = false;
  for (let i = 0; i < out.length; i++) {
    const b = out[i]!;
    if (b < 0x30 || b > 0x39) continue;
    const keep = digits >= 12 && (seen < 6 || seen >= digits - 4);
    seen++;
    if (!keep) {
      out[i] = 0x2a;
      changed = true;
    }
  }
  const m = maskCardDataBytes(out, { strict: true });
  if (m.masked) changed = true;
  if (!changed) return undefined;
  masks.pan++;
  return Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
}

/** NULL when a number's digits are a card number (its masked form would not be a number), else unchanged. */
function panNumber(text: string, masks: MaskCounter): null | undefined {
  if (!numberDigits(text).some((d) => containsCardData(d))) return undefined;
  masks.pan++;
  return null;
}

/**
 * The integer digits a number's text may stand for: 4.111111111111111e+15 → 4111111111111111. Money is
 * printed with lc_monetary's separators ($4,111.00, 4.111,00 €, Fr. 4'111.00, ￥4,111), which the text
 * alone does not tell apart: every reading counts.
 */
function numberDigits(text: string): string[] {
  const t = text.trim();
  if (/e/i.test(t)) {
    const n = Number(t);
    if (Number.isFinite(n)) return Math.abs(n) < 1e11 || Math.abs(n) > 1e20 ? [] : [BigInt(Math.trunc(Math.abs(n))).toString()];
  }
  const digits = (s: string) => s.replace(/[^0-9]/g, '');
  const readings = [
    digits(t.split('.')[0]!), // '.' as the decimal point
    digits(t.split(',')[0]!), // ',' as the decimal point
    digits(t.replace(/[.,]\d{1,3}(?=\D*$)/, '')), // the last group of 1 to 3 digits as the fraction
    digits(t), // no fraction at all
  ];
  return [...new Set(readings)].filter((d) => d.length >= 12);
}

/** The values of a DataRow (views into `raw`). */
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

/** Decimal text of a binary int8, numeric, money, float4 or float8 value (enough to look for a card number). */
function binaryNumberText(v: Buffer, typeOid: number): string {
  if (typeOid === OID.int8 || typeOid === OID.money) return v.length === 8 ? v.readBigInt64BE(0).toString() : '';
  if (typeOid === OID.float8) return v.length === 8 ? String(v.readDoubleBE(0)) : '';
  if (typeOid === OID.float4) return v.length === 4 ? String(v.readFloatBE(0)) : '';
  if (v.length < 8) return '';
  const ndigits = v.readUInt16BE(0);
  const weight = v.readInt16BE(2);
  // Base-10000 digit groups; the weight counts the groups before the point, trailing zero groups are left out.
  let s = '';
  for (let i = 0; i <= weight && i < 8; i++) {
    const group = i < ndigits && 8 + i * 2 + 2 <= v.length ? v.readUInt16BE(8 + i * 2) : 0;
    s += String(group).padStart(4, '0');
  }
  return s.replace(/^0+/, '');
}
