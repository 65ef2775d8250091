/**
 * Where the literal token that starts at a constant's location ends, for the forms that need no lexer: a
 * plain '…' string (read as PostgreSQL's parser reads it, standard_conforming_strings on: a backslash is an
 * ordinary character, '' a quote) and a plain decimal number, possibly negative (the parser folds `-5`
 * into one constant located at the minus). Anything else (E'', U&'', B'', X'', dollar quotes, a string
 * continued on the next line, hexadecimal or underscored numbers) answers undefined, and the caller asks
 * PostgreSQL's scanner, which is exact but costs microseconds per token.
 */
export type ByteAt = (offset: number) => number;

const QUOTE = 0x27;
const MINUS = 0x2d;
const DOT = 0x2e;

export function simpleLiteralEnd(byteAt: ByteAt, start: number, limit: number): number | undefined {
  const first = byteAt(start);
  if (first === QUOTE) return stringEnd(byteAt, start, limit);
  let i = start;
  if (first === MINUS) {
    i++;
    while (i < limit && isBlank(byteAt(i))) i++;
  }
  return numberEnd(byteAt, i, limit);
}

function stringEnd(byteAt: ByteAt, start: number, limit: number): number | undefined {
  let i = start + 1;
  for (;;) {
    if (i >= limit) return undefined;
    if (byteAt(i) === QUOTE) {
      if (byteAt(i + 1) === QUOTE) {
        i += 2;
        continue;
      }
      break;
    }
    i++;
  }
  const end = i + 1;
  // 'a'<newline>'b' is one literal, and a -- comment may sit in between: leave those to the scanner.
  let j = end;
  while (j < limit && isBlank(byteAt(j))) j++;
  if (byteAt(j) === QUOTE || (byteAt(j) === MINUS && byteAt(j + 1) === MINUS)) return undefined;
  return end;
}

function numberEnd(byteAt: ByteAt, start: number, limit: number): number | undefined {
  let i = start;
  const digits = () => {
    const from = i;
    while (i < limit && isDigit(byteAt(i))) i++;
    return i > from;
  };
  const whole = digits();
  if (byteAt(i) === DOT) {
    i++;
    if (!digits() && !whole) return undefined;
  } else if (!whole) {
    return undefined;
  }
  const e = byteAt(i);
  if (e === 0x45 || e === 0x65) {
    i++;
    if (byteAt(i) === 0x2b || byteAt(i) === MINUS) i++;
    if (!digits()) return undefined;
  }
  const next = byteAt(i);
  // 0x1F, 1_000, 1e: not plain decimal; a trailing letter would be a syntax error anyway.
  if (isDigit(next) || next === DOT || next === 0x5f || next === 0x24 || isLetter(next) || next >= 0x80) return undefined;
  return i;
}

function isBlank(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function isLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}
