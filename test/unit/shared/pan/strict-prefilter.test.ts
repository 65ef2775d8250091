// The prefilter may only say "no card data" where the strict byte scan finds none (a false "no" would let a
// clear PAN through a download unscanned); it must also say "no" for most binary data, or it saves nothing.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findCardData } from '../../../../shared/pan/index.ts';
import { mayHoldStrictMatch } from '../../../../shared/pan/strict-prefilter.ts';
import { attackForms } from './attack-forms.ts';
import { BRAND_TABLE, generatePan, rng, utf8 } from './helpers.ts';
import { strictSoup } from './soup.ts';

const STRICT = { strict: true } as const;
const found = (b: Uint8Array) => findCardData(b, STRICT).length > 0;

describe('mayHoldStrictMatch', () => {
  it('says "may" for every attack form strict mode catches, in any script and with escapes around it', () => {
    const rand = rng(7);
    let checked = 0;
    for (const { prefixes, lengths } of Object.values(BRAND_TABLE)) {
      for (const l of lengths) {
        const pan = generatePan(prefixes[0]!, l, rand);
        for (const f of attackForms(pan)) {
          for (const text of [f.text, `x${f.text}y`, `\\n${f.text}\\t`, `{"v":"${f.text}"}`]) {
            const b = utf8(text);
            if (!found(b)) continue;
            checked++;
            expect(mayHoldStrictMatch(b), `${f.form}: ${text}`).toBe(true);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('never says "no" where the strict scan finds card data: adversarial soups, cut at any byte', () => {
    const rand = rng(11);
    let withMatch = 0;
    for (let round = 0; round < 300; round++) {
      const b = utf8(strictSoup(rand, 200 + Math.floor(rand() * 600)));
      // Cut anywhere, also inside UTF-8 sequences (a READ boundary is arbitrary).
      for (let cut = 0; cut < 6; cut++) {
        const from = Math.floor(rand() * b.length);
        const to = from + Math.floor(rand() * (b.length - from + 1));
        const w = b.subarray(from, to);
        if (!found(w)) continue;
        withMatch++;
        expect(mayHoldStrictMatch(w), Buffer.from(w).toString('hex')).toBe(true);
      }
    }
    expect(withMatch).toBeGreaterThan(500);
  });

  it('never says "no" where the strict scan finds card data: card numbers inside random binary', () => {
    const rand = rng(13);
    let withMatch = 0;
    for (let round = 0; round < 400; round++) {
      const soup = utf8(strictSoup(rand, 60));
      const b = Buffer.concat([randomBytes(Math.floor(rand() * 300)), soup, randomBytes(Math.floor(rand() * 300))]);
      if (!found(b)) continue;
      withMatch++;
      expect(mayHoldStrictMatch(b), b.toString('hex')).toBe(true);
    }
    expect(withMatch).toBeGreaterThan(100);
  });

  it('says "no" for most 128 KiB chunks of random binary data (what makes downloads fast)', () => {
    let no = 0;
    for (let k = 0; k < 40; k++) if (!mayHoldStrictMatch(randomBytes(128 * 1024))) no++;
    expect(no).toBeGreaterThanOrEqual(30);
  });
});
