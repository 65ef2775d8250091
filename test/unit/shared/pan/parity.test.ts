import { describe, expect, it } from 'vitest';
import { brandOf, containsCardData, findCardData, luhnValid } from '../../../../shared/pan/index.ts';
import type { CardDataMatch } from '../../../../shared/pan/index.ts';
import { BRAND_TABLE, generatePan, group, rng, utf8 } from './helpers.ts';

/** The byte-scan matches, mapped back to UTF-16 offsets. */
function bytesAsText(text: string, bytes: Uint8Array, base = 0): CardDataMatch[] {
  const toText = new Map<number, number>();
  let b = 0;
  for (let i = 0; i <= text.length; i++) {
    toText.set(b, i);
    if (i === text.length) break;
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    b += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (units === 2) i++;
  }
  return findCardData(bytes).map((m) => ({ ...m, start: toText.get(m.start - base)!, end: toText.get(m.end - base)! }));
}

const PIECES = [
  ' ', ' ', ' ', '-', '.', ',', ';', '=', '^', '%', 'B', ':', '/', '\n', '\\n', '%20', '%3D', 'x', 'Zoë', '山', '😀', '_',
  'FR76 ', '-a5aa-', '2026-11-29', '18:41:32', '12.50', '0.', '1234 ', '4111 ', '1111 ', '5555-', '4444',
];

/** Dense, adversarial text: card numbers in every spelling, cut and glued to digits, letters and separators. */
function soup(rand: () => number, length: number): string {
  const cards = Object.entries(BRAND_TABLE).flatMap(([, { prefixes, lengths }]) =>
    lengths.map((l) => generatePan(prefixes[Math.floor(rand() * prefixes.length)]!, l, rand)),
  );
  let s = '';
  while (s.length < length) {
    const r = rand();
    if (r < 0.25) {
      const pan = cards[Math.floor(rand() * cards.length)]!;
      const form = rand();
      const written = form < 0.4 ? pan : group(pan, form < 0.7 ? ' ' : '-');
      if (rand() < 0.2) s += `;${written}=2512101${'0'.repeat(Math.floor(rand() * 30))}${rand() < 0.5 ? '?' : ''}`;
      else if (rand() < 0.2) s += `%B${written}^DOE/J^2512101 000${rand() < 0.5 ? '?' : ''}`;
      else s += written;
    } else if (r < 0.45) {
      s += String(Math.floor(rand() * 10 ** Math.floor(1 + rand() * 15)));
    } else {
      s += PIECES[Math.floor(rand() * PIECES.length)];
    }
  }
  return s;
}

describe('the byte and text scanners agree', () => {
  it('on dense random text, at every alignment, small or large', () => {
    const rand = rng(2026);
    let total = 0;
    for (let round = 0; round < 300; round++) {
      const text = soup(rand, 20 + Math.floor(rand() * 400));
      const expected = findCardData(text);
      total += expected.length;
      const bytes = utf8(text);
      for (let offset = 0; offset < 4; offset++) {
        const buffer = new Uint8Array(bytes.length + 8).fill(0x0a);
        buffer.set(bytes, offset);
        expect(bytesAsText(text, buffer.subarray(offset, offset + bytes.length)), text).toEqual(expected);
      }
      // The same text inside a larger buffer (word scan) and alone (byte scan when short): a newline on each
      // side is as clean a boundary as the start and the end.
      const padded = utf8(`${'.'.repeat(70)}\n${text}\n${'.'.repeat(70)}`);
      expect(bytesAsText(text, padded.subarray(71, 71 + bytes.length)), text).toEqual(expected);
      expect(
        findCardData(padded).map((m) => ({ ...m, start: m.start - 71, end: m.end - 71 })),
        text,
      ).toEqual(findCardData(bytes));
      expect(containsCardData(text)).toBe(expected.length > 0);
      expect(containsCardData(bytes)).toBe(expected.length > 0);
    }
    expect(total).toBeGreaterThan(300); // the soup really holds card data
  });
});

describe('against a reference', () => {
  it('finds exactly the valid PAN tokens among space-separated tokens', () => {
    const rand = rng(7777);
    const tokens: string[] = [];
    const expected: string[] = [];
    const cards = Object.values(BRAND_TABLE).flatMap(({ prefixes, lengths }) =>
      prefixes.flatMap((p) => lengths.map((l) => generatePan(p, l, rand))),
    );
    for (let i = 0; i < 5000; i++) {
      const r = rand();
      let t: string;
      if (r < 0.2) t = cards[Math.floor(rand() * cards.length)]!;
      else if (r < 0.4) {
        // Brand-shaped numbers, most of them Luhn-invalid.
        const c = cards[Math.floor(rand() * cards.length)]!;
        t = c.slice(0, -1) + String(Math.floor(rand() * 10));
      } else if (r < 0.6) {
        // Digit runs of any length but 4 (a lone 4-digit group could start a grouped PAN with its neighbours).
        let len = 1 + Math.floor(rand() * 30);
        if (len === 4) len = 5;
        t = '';
        while (t.length < len) t += String(Math.floor(rand() * 10));
      } else {
        t = ['order', 'Zoë', '2026-11-29', '18:41:32', '12.50', 'id=7', '山田', 'v1.2.3', '(x)'][Math.floor(rand() * 9)]!;
      }
      tokens.push(t);
      if (/^[0-9]{12,19}$/.test(t) && luhnValid(t) && brandOf(t) !== undefined) expected.push(t);
    }
    const text = tokens.join(' ');
    const found = findCardData(text).map((m) => text.slice(m.start, m.end));
    expect(found).toEqual(expected);
    expect(bytesAsText(text, utf8(text)).map((m) => text.slice(m.start, m.end))).toEqual(expected);
    expect(expected.length).toBeGreaterThan(900);
  });
});
