// Test data builders for the PAN detector: seeded, so failures reproduce.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CardBrand } from '../../../../shared/pan/index.ts';
import { rng } from '../../../helpers/seeded-random.ts';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/pan/', import.meta.url));

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(FIXTURES + name, 'utf8')) as T;
}

export { rng };

/** Appends the Luhn check digit, computed independently of shared/pan. */
export function withCheckDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let v = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** PCI.md's table: IIN prefixes to build from (chosen so no higher-priority brand claims them) and lengths. */
export const BRAND_TABLE: Record<CardBrand, { prefixes: string[]; lengths: number[] }> = {
  visa: { prefixes: ['4'], lengths: [13, 16, 18, 19] },
  mastercard: { prefixes: ['51', '53', '55', '2221', '2500', '2720'], lengths: [16] },
  amex: { prefixes: ['34', '37'], lengths: [15] },
  discover: { prefixes: ['6011', '644', '649', '65'], lengths: [16, 19] },
  jcb: { prefixes: ['3528', '3550', '3589'], lengths: [16, 17, 18, 19] },
  diners: { prefixes: ['300', '305', '36', '38', '39'], lengths: [14, 16, 19] },
  unionpay: { prefixes: ['62'], lengths: [14, 15, 16, 17, 18, 19] },
  maestro: { prefixes: ['50', '56', '58', '6304', '6759'], lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
};

export function generatePan(prefix: string, length: number, rand: () => number): string {
  let body = prefix;
  while (body.length < length - 1) body += String(Math.floor(rand() * 10));
  return withCheckDigit(body);
}

/** The grouping for each length (see shared/pan/grouping.ts). */
export const GROUPING: Record<number, number[]> = {
  12: [4, 4, 4],
  13: [4, 4, 5],
  14: [4, 6, 4],
  15: [4, 6, 5],
  16: [4, 4, 4, 4],
  17: [4, 4, 4, 4, 1],
  18: [4, 4, 4, 4, 2],
  19: [4, 4, 4, 4, 3],
};

export function group(digits: string, sep: string): string {
  const parts: string[] = [];
  let at = 0;
  for (const len of GROUPING[digits.length]!) {
    parts.push(digits.slice(at, at + len));
    at += len;
  }
  return parts.join(sep);
}

export const utf8 = (s: string) => new TextEncoder().encode(s);

/** Byte offset in the UTF-8 encoding of s of the UTF-16 offset i. */
export function byteOffset(s: string, i: number): number {
  return utf8(s.slice(0, i)).length;
}
