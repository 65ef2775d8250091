/**
 * False-positive and detection figures for docs/pan-detection.md, printed by scripts/bench/pan-scan.ts and
 * bounded by fp-rates.test.ts. A value has a false positive when any match is found in it; an attack form is
 * detected when a match's digits hold the whole PAN (so the masking hides its middle digits).
 */
import { findCardData, type CardDataMatch } from '../../../../shared/pan/index.ts';
import { matchDigits } from '../../../../shared/pan/strict-mask.ts';
import { STRICT_RULES, type StrictRules } from '../../../../shared/pan/strict-chain.ts';
import { scanTextStrict } from '../../../../shared/pan/strict-text.ts';
import { attackForms } from './attack-forms.ts';
import { FP_CATEGORIES, fpCorpus, type FpCategory } from './fp-corpus.ts';
import { fixture } from './helpers.ts';

export type Mode = 'normal' | 'strict' | 'strict_interior' | 'strict_mixed';

const VARIANTS: Record<Exclude<Mode, 'normal'>, StrictRules> = {
  strict: STRICT_RULES,
  strict_interior: { interior: true, mixed: false },
  strict_mixed: { interior: false, mixed: true },
};

export function find(text: string, mode: Mode): CardDataMatch[] {
  if (mode === 'normal') return findCardData(text);
  const out: CardDataMatch[] = [];
  scanTextStrict(text, out, false, VARIANTS[mode]);
  return out;
}

export const round4 = (v: number) => Math.round(v * 10000) / 10000;

/** Fraction of values of each category with at least one match. */
export function fpRates(mode: Mode, perCategory = 2000): Record<FpCategory, number> {
  const corpus = fpCorpus(perCategory);
  const out = {} as Record<FpCategory, number>;
  for (const c of FP_CATEGORIES) {
    let hits = 0;
    for (const v of corpus[c]) if (find(v, mode).length > 0) hits++;
    out[c] = round4(hits / corpus[c].length);
  }
  return out;
}

/** Fraction over all categories (each counts the same). */
export function overall(rates: Record<string, number>): number {
  const v = Object.values(rates);
  return round4(v.reduce((a, b) => a + b, 0) / v.length);
}

export const ATTACK_PANS: string[] = fixture<{ pans: { pan: string }[] }>('public-test-pans.json').pans.map((p) => p.pan);

export function detected(text: string, pan: string, mode: Mode): boolean {
  return find(text, mode).some((m) => m.kind !== 'pan' || matchDigits(text, m).includes(pan));
}

/** Detection rate per attack form over every public test PAN, and over the forms strict mode must catch. */
export function detectionRates(mode: Mode): { perForm: Record<string, number>; expected: number; knownMisses: number } {
  const hits = new Map<string, [number, number]>();
  let expHit = 0;
  let expAll = 0;
  let missHit = 0;
  let missAll = 0;
  for (const pan of ATTACK_PANS) {
    for (const { form, text, expected } of attackForms(pan)) {
      const d = detected(text, pan, mode);
      const h = hits.get(form) ?? [0, 0];
      h[0] += d ? 1 : 0;
      h[1]++;
      hits.set(form, h);
      if (expected) {
        expAll++;
        expHit += d ? 1 : 0;
      } else {
        missAll++;
        missHit += d ? 1 : 0;
      }
    }
  }
  const perForm: Record<string, number> = {};
  for (const [form, [h, n]] of hits) perForm[form] = round4(h / n);
  return { perForm, expected: round4(expHit / expAll), knownMisses: round4(missHit / missAll) };
}
