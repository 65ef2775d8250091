/**
 * Column names that hold sensitive authentication data (PCI DSS 3.3: never stored after authorisation): card
 * verification codes, magnetic-stripe track data, PINs and PIN blocks. Literals and parameters bound to
 * them are redacted from recordings entirely.
 *
 * The name is split into words (on _, other non-alphanumerics and camelCase boundaries, lower-cased), and
 * is sensitive when its words contain one of these sequences:
 *   cvv, cvv2, cvc, cvc2, cid, cvn, cvd, csc          card verification codes (cid: Amex)
 *   security code, card verification …                 security_code, card_security_code, card_verification_value…
 *   track1, track 1, track2, track 2, track data       track_1, track2, track_data
 *   magstripe, mag stripe                              stripe data
 *   pin, pin block, pinblock                           pin, pin_code, pin_block, pinblock
 * So card_cvv, cvv_code, CardCVV and "cardCvc2" match; pinned, spin, cidr and cvvx do not. Over-matching
 * only costs a redacted value in a recording, so words such as `cid` are matched even though some schemas
 * use them for other things.
 */
const SINGLE = new Set(['cvv', 'cvv2', 'cvc', 'cvc2', 'cid', 'cvn', 'cvd', 'csc', 'track1', 'track2', 'magstripe', 'pin', 'pinblock', 'trackdata']);
const PAIRS = new Set(['security code', 'track 1', 'track 2', 'track data', 'mag stripe', 'pin block']);

/** A column name's words: split on _, other non-alphanumerics and camelCase boundaries, lower-cased. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

export function isSensitiveColumn(name: string): boolean {
  const words = nameWords(name);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (SINGLE.has(w)) return true;
    if (w === 'card' && words[i + 1]?.startsWith('verification')) return true;
    if (w.startsWith('cardverification')) return true;
    if (i + 1 < words.length && PAIRS.has(`${w} ${words[i + 1]!}`)) return true;
  }
  return false;
}

/**
 * Column names that hold primary account numbers (PCI DSS 3.4: shown at most as first 6 + last 4): pan,
 * card number, cc number, credit card (number), primary account number, as words of the name, so
 * card_number, CardNumber, cc_num, credit_card_no and customer_pan match; panel, japan and card_type do not.
 */
const PAN_SINGLE = new Set(['pan', 'pans', 'ccnum', 'ccnumber', 'ccnumbers', 'cardnumber', 'cardnumbers', 'cardnum', 'cardno', 'creditcard', 'creditcards', 'creditcardnumber']);
const PAN_PAIRS = new Set(['card number', 'card numbers', 'card num', 'card no', 'card nr', 'cc number', 'cc numbers', 'cc num', 'cc no', 'credit card', 'credit cards', 'primary account']);

export function isPanColumn(name: string): boolean {
  const words = nameWords(name);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    // A trailing number does not change what a column holds: pan1, card_number_2.
    if (PAN_SINGLE.has(w.replace(/\d+$/, ''))) return true;
    if (i + 1 < words.length && PAN_PAIRS.has(`${w} ${words[i + 1]!.replace(/\d+$/, '')}`)) return true;
  }
  return false;
}
