/**
 * Ways to write a PAN that step around pattern masking (penetration test, issue 8 items 5/6), each built from a
 * real test number the way a SQL client would get it (`'x'||pan`, `lpad`, casts to float8, money, uuid, point…).
 * `expected: false` marks forms strict mode deliberately does not catch (docs/pan-detection.md says why).
 */
import { GROUPING } from './helpers.ts';

export interface AttackForm {
  form: string;
  text: string;
  /** Strict mode must find it. */
  expected: boolean;
}

/** The brand grouping (4-4-4-4, 4-6-5, …) joined by `sep`. */
function grouped(pan: string, sep: string): string {
  const parts: string[] = [];
  let at = 0;
  for (const len of GROUPING[pan.length]!) {
    parts.push(pan.slice(at, at + len));
    at += len;
  }
  return parts.join(sep);
}

function chunks(pan: string, size: number, sep: string): string {
  const parts: string[] = [];
  for (let k = 0; k < pan.length; k += size) parts.push(pan.slice(k, k + size));
  return parts.join(sep);
}

/** Each ASCII digit as the digit of another script whose zero is `zero`. */
export function inScript(digits: string, zero: number): string {
  let s = '';
  for (const ch of digits) s += ch >= '0' && ch <= '9' ? String.fromCodePoint(zero + Number(ch)) : ch;
  return s;
}

const SCRIPTS: [string, number][] = [
  ['fullwidth', 0xff10],
  ['arabic_indic', 0x660],
  ['ext_arabic_indic', 0x6f0],
  ['devanagari', 0x966],
  ['bengali', 0x9e6],
  ['thai', 0xe50],
  ['math_bold', 0x1d7ce],
  ['math_monospace', 0x1d7f6],
];

const SEPARATORS: [string, string][] = [
  ['dot', '.'],
  ['underscore', '_'],
  ['slash', '/'],
  ['tab', '\t'],
  ['double_space', '  '],
  ['spaced_dash', ' - '],
  ['colon', ':'],
  ['comma', ','],
  ['pipe', '|'],
  ['plus', '+'],
  ['newline', '\n'],
  ['nbsp', '\u00a0'],
  ['ideographic_space', '\u3000'],
  ['en_dash', '\u2013'],
  ['zero_width_space', '\u200b'],
  ['json_tab_escape', '\\t'],
];

function thousands(pan: string, sep: string): string {
  let out = '';
  for (let k = 0; k < pan.length; k++) {
    if (k > 0 && (pan.length - k) % 3 === 0) out += sep;
    out += pan[k];
  }
  return out;
}

function asUuid(hex32: string): string {
  return `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-${hex32.slice(12, 16)}-${hex32.slice(16, 20)}-${hex32.slice(20)}`;
}

/** Every attack form of one PAN. Float forms only for PANs a float8 holds exactly (≤ 16 digits, < 2^53). */
export function attackForms(pan: string): AttackForm[] {
  const f: AttackForm[] = [];
  const add = (form: string, text: string, expected = true) => f.push({ form, text, expected });
  add('glued_letter', `x${pan}`);
  add('glued_word', `PAN${pan}`);
  add('glued_after', `${pan}x`);
  add('identifier', `user_${pan}`);
  add('lpad_20_zeros', pan.padStart(20, '0'));
  add('rpad_20_zeros', pan.padEnd(20, '0'));
  add('digit_before', `9${pan}`);
  add('digit_after', `${pan}7`);
  add('decimal_suffix', `${pan}.5`);
  add('decimal_cents', `${pan}.00`);
  for (const [name, sep] of SEPARATORS) add(`sep_${name}`, grouped(pan, sep));
  add('one_digit_groups', chunks(pan, 1, ' '));
  add('groups_of_3', chunks(pan, 3, '-'));
  add('groups_of_2', chunks(pan, 2, '.'));
  add('groups_of_5', chunks(pan, 5, ' '));
  for (const [name, zero] of SCRIPTS) add(`digits_${name}`, inScript(pan, zero));
  add(
    'digits_mixed_scripts',
    [...pan].map((ch, k) => inScript(ch, SCRIPTS[k % SCRIPTS.length]![1])).join(''),
  );
  add('digits_fullwidth_grouped', inScript(grouped(pan, '\uff0d'), 0xff10));
  const exact = pan.length <= 16 && Number(pan) <= Number.MAX_SAFE_INTEGER;
  if (exact) {
    add('float8_exponent', Number(pan).toExponential());
    add('float8_capital_e', Number(pan).toExponential().toUpperCase());
    add('point_float8', `(${Number(pan).toExponential()},0)`);
  }
  add('money_usd', `$${thousands(pan, ',')}.00`);
  add('money_de', `${thousands(pan, '.')},00 €`);
  add('money_fr', `${thousands(pan, '\u202f')},00\u00a0€`);
  add('money_ch', `${thousands(pan, "'")}.00 CHF`);
  if (pan.length <= 20) {
    add('uuid_inside', asUuid(('000000000000' + pan).padEnd(32, '1')));
    add('uuid_lpad', asUuid(pan.padStart(32, '0')));
  }
  add('point', `(${pan},0)`);
  add('box', `((${pan},0),(1,1))`);
  add('circle', `<(${pan},0),5>`);
  add('json_array', `[${pan},1]`);
  add('sep_asterisk', grouped(pan, '*'));
  // Known miss: separators that change inside one number.
  add('mixed_separators', grouped(pan, ' ').replace(' ', '-'), false);
  return f;
}
