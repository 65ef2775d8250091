/**
 * A digest of everything normal mode finds over a large fixed corpus (the benchmark text, dense adversarial
 * soup, the false-positive corpus and every attack form), in strings and in bytes. normal-mode.test.ts holds
 * the digest the detector gave before strict mode existed, so any change to normal mode's results shows.
 */
import { createHash } from 'node:crypto';
import type { CardDataMatch } from '../../../../shared/pan/index.ts';
import { buildBenchText } from '../../../../scripts/bench/pan-scan.ts';
import { attackForms } from './attack-forms.ts';
import { FP_CATEGORIES, fpCorpus } from './fp-corpus.ts';
import { BRAND_TABLE, generatePan, rng } from './helpers.ts';
import { strictSoup } from './soup.ts';

type Find = (input: string | Uint8Array) => CardDataMatch[];

export function normalCorpus(): string[] {
  const texts: string[] = [buildBenchText(2, true).text];
  const rand = rng(31337);
  for (let k = 0; k < 400; k++) texts.push(strictSoup(rand, 20 + Math.floor(rand() * 600)));
  const corpus = fpCorpus(1000);
  for (const c of FP_CATEGORIES) texts.push(...corpus[c]);
  for (const { prefixes, lengths } of Object.values(BRAND_TABLE)) {
    for (const l of lengths) for (const { text } of attackForms(generatePan(prefixes[0]!, l, rand))) texts.push(text, `a ${text} b`);
  }
  return texts;
}

export function normalDigest(find: Find): { digest: string; matches: number } {
  const h = createHash('sha256');
  const encoder = new TextEncoder();
  let matches = 0;
  for (const t of normalCorpus()) {
    const a = find(t);
    const b = find(encoder.encode(t));
    matches += a.length;
    h.update(JSON.stringify(a.map((m) => [m.start, m.end, m.kind, m.brand ?? null])));
    h.update(JSON.stringify(b.map((m) => [m.start, m.end, m.kind, m.brand ?? null])));
  }
  return { digest: h.digest('hex'), matches };
}
