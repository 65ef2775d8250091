/**
 * A seeded corpus of realistic values that are not card numbers, by category, for measuring false positives
 * (docs/pan-detection.md). Each value is what one result column, log field or message fragment would hold.
 */
import { rng } from '../../../helpers/seeded-random.ts';

export type FpCategory =
  | 'date_time'
  | 'epoch'
  | 'uuid'
  | 'order_id'
  | 'snowflake'
  | 'amount'
  | 'float'
  | 'ip'
  | 'phone'
  | 'hex_digest'
  | 'base64'
  | 'iban';

export const FP_CATEGORIES: readonly FpCategory[] = [
  'date_time',
  'epoch',
  'uuid',
  'order_id',
  'snowflake',
  'amount',
  'float',
  'ip',
  'phone',
  'hex_digest',
  'base64',
  'iban',
];

type Rand = () => number;

const pad = (v: number | bigint, w: number) => String(v).padStart(w, '0');

function tools(rand: Rand) {
  const int = (max: number) => Math.floor(rand() * max);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const digits = (n: number, first = '123456789') => {
    let s = pick([...first]);
    while (s.length < n) s += String(int(10));
    return s;
  };
  const hex = (n: number) => {
    let s = '';
    while (s.length < n) s += int(16).toString(16);
    return s;
  };
  // Times between 2000 and 2035, in milliseconds.
  const epochMs = () => 946684800000 + Math.floor(rand() * 1.1e12);
  return { int, pick, digits, hex, epochMs };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function dateTime(rand: Rand): string {
  const { int, pick, epochMs } = tools(rand);
  const d = new Date(epochMs());
  const Y = d.getUTCFullYear();
  const M = pad(d.getUTCMonth() + 1, 2);
  const D = pad(d.getUTCDate(), 2);
  const h = pad(d.getUTCHours(), 2);
  const m = pad(d.getUTCMinutes(), 2);
  const s = pad(d.getUTCSeconds(), 2);
  const ms = pad(d.getUTCMilliseconds(), 3);
  const us = ms + pad(int(1000), 3);
  const tz = pick(['Z', '+00:00', '+01:00', '-05:00', '+05:30']);
  switch (int(12)) {
    case 0:
      return `${Y}-${M}-${D}`;
    case 1:
      return `${Y}-${M}-${D}T${h}:${m}:${s}Z`;
    case 2:
      return `${Y}-${M}-${D}T${h}:${m}:${s}.${ms}${tz}`;
    case 3:
      return `${Y}-${M}-${D} ${h}:${m}:${s}.${us}${pick(['+00', '+01', '-05'])}`;
    case 4:
      return `${Y}-${M}-${D} ${h}:${m}:${s}`;
    case 5:
      return `${Y}-${M}-${D}T${h}:${m}:${s}.${us}`;
    case 6:
      return `${DAYS[d.getUTCDay()]}, ${D} ${MONTHS[d.getUTCMonth()]} ${Y} ${h}:${m}:${s} +0000`;
    case 7:
      return `${Y}${M}${D}${h}${m}${s}`;
    case 8:
      return `${Y}${M}${D}T${h}${m}${s}Z`;
    case 9:
      return `${Y}${M}${D}${h}${m}${s}${ms}`;
    case 10:
      return `${M}/${D}/${Y} ${pad(((d.getUTCHours() + 11) % 12) + 1, 2)}:${m}:${s} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
    default:
      return `${D}.${M}.${Y} ${h}:${m}`;
  }
}

function epoch(rand: Rand): string {
  const { int, epochMs } = tools(rand);
  const ms = epochMs();
  const us = BigInt(ms) * 1000n + BigInt(int(1000));
  switch (int(6)) {
    case 0:
      return String(Math.floor(ms / 1000));
    case 1:
      return String(ms);
    case 2:
      return String(us);
    case 3:
      return `${Math.floor(ms / 1000)}.${pad(us % 1000000n, 6)}`;
    case 4:
      return String(us * 1000n + BigInt(int(1000)));
    default:
      return String(ms / 1000);
  }
}

function uuid(rand: Rand): string {
  const { int, hex, epochMs } = tools(rand);
  const variant = () => '89ab'[int(4)]! + hex(3);
  switch (int(3)) {
    case 0: {
      // v1: 60-bit count of 100 ns since 1582, low field first.
      const t = BigInt(epochMs()) * 10000n + 122192928000000000n + BigInt(int(10000));
      const h = t.toString(16).padStart(15, '0');
      return `${h.slice(7)}-${h.slice(3, 7)}-1${h.slice(0, 3)}-${variant()}-${hex(12)}`;
    }
    case 1:
      return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant()}-${hex(12)}`;
    default: {
      const h = epochMs().toString(16).padStart(12, '0');
      return `${h.slice(0, 8)}-${h.slice(8)}-7${hex(3)}-${variant()}-${hex(12)}`;
    }
  }
}

function orderId(rand: Rand): string {
  const { int, pick, digits } = tools(rand);
  const n = digits(8 + int(15));
  return pick(['', '', '', '#', 'ORD-', 'INV-']) + n;
}

function snowflake(rand: Rand): string {
  const { int, pick, epochMs } = tools(rand);
  // Twitter (epoch 2010-11-04) and Discord (epoch 2015-01-01): ms since epoch << 22 | worker << 12 | sequence.
  const since = BigInt(Math.max(0, epochMs() - pick([1288834974657, 1420070400000])));
  return String((since << 22n) | (BigInt(int(1024)) << 12n) | BigInt(int(4096)));
}

function thousands(intPart: string, sep: string): string {
  let out = '';
  for (let k = 0; k < intPart.length; k++) {
    if (k > 0 && (intPart.length - k) % 3 === 0) out += sep;
    out += intPart[k];
  }
  return out;
}

function amount(rand: Rand): string {
  const { int, pick } = tools(rand);
  const whole = String(Math.floor(10 ** (rand() * 12)));
  const cents = pad(int(100), 2);
  switch (int(8)) {
    case 0:
      return `${whole}.${cents}`;
    case 1:
      return `${thousands(whole, ',')}.${cents}`;
    case 2:
      return `${pick(['$', '£', '-$'])}${thousands(whole, ',')}.${cents}`;
    case 3:
      return `${thousands(whole, '.')},${cents} €`;
    case 4:
      return `${thousands(whole, '\u202f')},${cents}\u00a0€`;
    case 5:
      return `${pick(['USD', 'EUR', 'GBP'])} ${whole}.${cents}`;
    case 6:
      return `${thousands(whole, "'")}.${cents} CHF`;
    default:
      return String(int(1e6));
  }
}

function float(rand: Rand): string {
  const { int } = tools(rand);
  const scale = 10 ** (int(24) - 6);
  const v = rand() * scale;
  switch (int(3)) {
    case 0:
      return String(v);
    case 1:
      return v.toPrecision(17);
    default:
      return v.toExponential();
  }
}

function ip(rand: Rand): string {
  const { int, pick, hex } = tools(rand);
  const v4 = () => `${1 + int(254)}.${int(256)}.${int(256)}.${int(256)}`;
  switch (int(4)) {
    case 0:
      return v4();
    case 1:
      return `${v4()}:${pick([5432, 443, 8080, 6432, 1024 + int(60000)])}`;
    case 2:
      return Array.from({ length: 8 }, () => hex(4).replace(/^0+(?=.)/, '')).join(':');
    default:
      return `2001:db8:${hex(4)}::${int(10) > 4 ? hex(1 + int(4)) : int(10000)}`;
  }
}

function phone(rand: Rand): string {
  const { int, pick, digits } = tools(rand);
  const d = (n: number) => digits(n, '0123456789');
  switch (int(8)) {
    case 0:
      return `+1${digits(3, '23456789')}${d(7)}`;
    case 1:
      return `+1 (${digits(3, '23456789')}) ${d(3)}-${d(4)}`;
    case 2:
      return `+44 ${pick(['20', '161', '7700'])} ${d(3)} ${d(4)}`;
    case 3:
      return `+${pick(['33', '49', '34', '39', '31'])}${digits(9 + int(3), '123456789')}`;
    case 4:
      return `+55 ${d(2)} 9${d(4)}-${d(4)}`;
    case 5:
      return `+62${digits(10 + int(3), '8')}`;
    case 6:
      return `+86 1${d(2)} ${d(4)} ${d(4)}`;
    default:
      return `0044 ${d(2)} ${d(4)} ${d(4)}`;
  }
}

function hexDigest(rand: Rand): string {
  const { pick, hex } = tools(rand);
  return hex(pick([32, 40, 64]));
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64(rand: Rand): string {
  const { int } = tools(rand);
  const bytes = 12 + int(40);
  let s = '';
  for (let k = 0; k < Math.ceil(bytes / 3) * 4; k++) s += B64[int(64)];
  const padding = (3 - (bytes % 3)) % 3;
  return padding === 0 ? s : s.slice(0, -padding) + '='.repeat(padding);
}

// Country, length and BBAN layout (n digits, a capital letters, c alphanumerics), from the IBAN registry.
const IBAN_LAYOUTS: [string, string][] = [
  ['DE', '18n'],
  ['FR', '10n,11c,2n'],
  ['GB', '4a,14n'],
  ['ES', '20n'],
  ['IT', '1a,10n,12c'],
  ['NL', '4a,10n'],
  ['BE', '12n'],
  ['CH', '5n,12c'],
  ['PL', '24n'],
  ['PT', '21n'],
  ['AT', '16n'],
  ['SE', '20n'],
];

export function ibanCheckDigits(country: string, bban: string): string {
  const moved = `${bban}${country}00`;
  let m = 0;
  for (const ch of moved) {
    const v = /[0-9]/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const c of v) m = (m * 10 + Number(c)) % 97;
  }
  return pad(98 - m, 2);
}

function iban(rand: Rand): string {
  const { int, pick } = tools(rand);
  const [country, layout] = pick(IBAN_LAYOUTS);
  let bban = '';
  for (const part of layout.split(',')) {
    const n = Number(part.slice(0, -1));
    const kind = part.at(-1);
    for (let k = 0; k < n; k++) {
      // Alphanumeric fields are mostly digits in practice (account numbers).
      const letter = kind === 'a' || (kind === 'c' && rand() < 0.2);
      bban += letter ? String.fromCharCode(65 + int(26)) : String(int(10));
    }
  }
  const electronic = `${country}${ibanCheckDigits(country, bban)}${bban}`;
  return int(2) === 0 ? electronic : electronic.replace(/(.{4})(?=.)/g, '$1 ');
}

const GENERATORS: Record<FpCategory, (rand: Rand) => string> = {
  date_time: dateTime,
  epoch,
  uuid,
  order_id: orderId,
  snowflake,
  amount,
  float,
  ip,
  phone,
  hex_digest: hexDigest,
  base64,
  iban,
};

/** `count` values of each category, the same on every run. */
export function fpCorpus(count: number, seed = 0xf00d): Record<FpCategory, string[]> {
  const out = {} as Record<FpCategory, string[]>;
  FP_CATEGORIES.forEach((category, k) => {
    const rand = rng(seed + k * 7919);
    out[category] = Array.from({ length: count }, () => GENERATORS[category](rand));
  });
  return out;
}
