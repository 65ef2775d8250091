/**
 * Dense adversarial text for the strict scanners: card numbers in every spelling strict mode knows (separators,
 * scripts, floats, glue), cut and glued to digits, letters, escapes, masks and separators.
 */
import { attackForms, inScript } from './attack-forms.ts';
import { BRAND_TABLE, generatePan, group } from './helpers.ts';

const PIECES = [
  ' ', ' ', '  ', '-', ' - ', '.', ',', ';', '=', '^', '%', 'B', ':', '/', '\n', '\t', '\\t', '\\n', '\\"', '\\\\', '%20',
  'x', 'e+15', 'E', 'Zoë', '山', '😀', '_', '*', '**', '\u00a0', '\u3000', '\u2013', '\u200b', 'FR76 ', 'DE89',
  '-a5aa-', '2026-11-29', '18:41:32', '12.50', '0.', '1234 ', '4111 ', '1111 ', '5555-', '4444', '0000',
  '[REDACTED TRACK DATA]', '４', '٤', '𝟒', '१',
];

const SCRIPT_ZEROS = [0xff10, 0x660, 0x6f0, 0x966, 0x1d7ce];

export function strictSoup(rand: () => number, length: number): string {
  const int = (n: number) => Math.floor(rand() * n);
  const cards = Object.values(BRAND_TABLE).flatMap(({ prefixes, lengths }) =>
    lengths.map((l) => generatePan(prefixes[int(prefixes.length)]!, l, rand)),
  );
  let s = '';
  while (s.length < length) {
    const r = rand();
    if (r < 0.2) {
      const pan = cards[int(cards.length)]!;
      const forms = attackForms(pan);
      const form = rand();
      let written = form < 0.3 ? pan : form < 0.5 ? group(pan, rand() < 0.5 ? ' ' : '-') : forms[int(forms.length)]!.text;
      if (rand() < 0.1) written = inScript(written, SCRIPT_ZEROS[int(SCRIPT_ZEROS.length)]!);
      if (rand() < 0.15) s += `;${written}=2512101${'0'.repeat(int(30))}${rand() < 0.5 ? '?' : ''}`;
      else if (rand() < 0.15) s += `%B${written}^DOE/J^2512101 000${rand() < 0.5 ? '?' : ''}`;
      else s += written;
    } else if (r < 0.45) {
      s += String(Math.floor(rand() * 10 ** Math.floor(1 + rand() * 15)));
    } else {
      s += PIECES[int(PIECES.length)];
    }
  }
  return s;
}
