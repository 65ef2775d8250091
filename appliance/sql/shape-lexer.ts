/**
 * The classification cache's key: the SQL text with each plain literal replaced by a placeholder of its
 * kind, everything else kept byte for byte. A wrong cache hit is a policy bypass, so the lexer accepts only
 * a small subset of SQL on which PostgreSQL's lexer provably agrees with it, and answers `undefined`
 * (parse every time) for anything else:
 *
 *   accepted                                          refused (undefined)
 *   printable ASCII, space, \t, \n, \r                any other byte: non-ASCII, NUL, \f, \v, other controls
 *   identifiers and keywords [A-Za-z_][A-Za-z0-9_$]*  an identifier directly followed by ' or " (E'', B'',
 *                                                     X'', N'', U&'', U&"" prefixes)
 *   "quoted" identifiers of [A-Za-z0-9_$]+            any other quoted identifier, "" escapes
 *   'strings' of printable ASCII/\t\n\r, '' escapes   a backslash anywhere (its meaning depends on
 *                                                     standard_conforming_strings), a string right after an
 *                                                     identifier character or &, a string followed (after
 *                                                     blanks) by another ' (continuation: 'a'\n'b' is ONE
 *                                                     literal), an unterminated string
 *   numbers 123 and 1.5                               exponents, 1., .5, 0x…, 1_000, a number followed by a
 *                                                     letter, digit, _, $ or .
 *   parameters $1                                     $$ and $tag$ (dollar quoting), $1 followed by junk
 *   operators + - * / < > = ~ ! @ # % ^ & | ?         -- and /* (comments), ` and anything else
 *   punctuation ( ) [ ] , ; : .                        { } \
 *
 * On that subset two texts with the same key are the same token sequence except for the values of
 * literals of the same kind ('s' string, 'i' integer that fits int4 and so lexes as ICONST, 'n' other
 * numbers, FCONST), whatever standard_conforming_strings says. Placeholders are \x01 + kind: \x01 cannot
 * occur in an accepted text, so the key is unambiguous.
 */

export interface Shape {
  key: string;
  /** Start and end offsets of each literal, in order: [start0, end0, start1, end1, …]. The text is ASCII, so
   *  these are byte offsets too. */
  literals: number[];
}

// Character codes used below.
const CH_TAB = 9;
const CH_LF = 10;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_DQUOTE = 34;
const CH_DOLLAR = 36;
const CH_AMP = 38;
const CH_QUOTE = 39;
const CH_STAR = 42;
const CH_MINUS = 45;
const CH_DOT = 46;
const CH_SLASH = 47;
const CH_D0 = 48;
const CH_D9 = 57;
const CH_UA = 65;
const CH_UZ = 90;
const CH_UNDERSCORE = 95;
const CH_LA = 97;
const CH_LZ = 122;

// Character classes for the 128 ASCII codes.
const IDENT_START = 1;
const IDENT_CONT = 2;
const BLANK = 4;
const OPERATOR = 8;
const PUNCT = 16;
const STRING_BODY = 32;

const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  let k = 0;
  const letter = (c >= CH_UA && c <= CH_UZ) || (c >= CH_LA && c <= CH_LZ);
  if (letter || c === CH_UNDERSCORE) k |= IDENT_START | IDENT_CONT;
  if ((c >= CH_D0 && c <= CH_D9) || c === CH_DOLLAR) k |= IDENT_CONT;
  if (c === CH_SPACE || c === CH_TAB || c === CH_LF || c === CH_CR) k |= BLANK | STRING_BODY;
  if ('+-*/<>=~!@#%^&|?'.includes(String.fromCharCode(c))) k |= OPERATOR;
  if ('()[],;:.'.includes(String.fromCharCode(c))) k |= PUNCT;
  if (c >= 0x20 && c <= 0x7e && c !== 0x5c && c !== CH_QUOTE) k |= STRING_BODY;
  CLASS[c] = k;
}

const INT4_MAX = '2147483647';

function isIdentCont(c: number): boolean {
  return c < 128 && (CLASS[c]! & IDENT_CONT) !== 0;
}

/** The cache key and literal offsets of `sql`, or undefined when it is outside the cacheable subset. */
export function lexShape(sql: string): Shape | undefined {
  const n = sql.length;
  const literals: number[] = [];
  let key = '';
  let copied = 0; // sql[copied, i) is still to be appended verbatim
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c >= 128) return undefined;
    const k = CLASS[c]!;
    if (k & BLANK) {
      i++;
    } else if (k & IDENT_START) {
      i++;
      while (i < n && isIdentCont(sql.charCodeAt(i))) i++;
      const next = sql.charCodeAt(i);
      if (next === CH_QUOTE || next === CH_DQUOTE) return undefined;
    } else if (c >= CH_D0 && c <= CH_D9) {
      const start = i;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      let kind = intKind(sql, start, i);
      if (sql.charCodeAt(i) === CH_DOT) {
        if (!isDigit(sql.charCodeAt(i + 1))) return undefined;
        i++;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
        kind = 'n';
      }
      const next = sql.charCodeAt(i);
      if (isIdentCont(next) || next === CH_DOT) return undefined;
      key += sql.slice(copied, start) + '\x01' + kind;
      copied = i;
      literals.push(start, i);
    } else if (c === CH_QUOTE) {
      const prev = i > 0 ? sql.charCodeAt(i - 1) : CH_SPACE;
      if (isIdentCont(prev) || prev === CH_AMP) return undefined;
      const start = i;
      i++;
      for (;;) {
        if (i >= n) return undefined; // unterminated
        const s = sql.charCodeAt(i);
        if (s === CH_QUOTE) {
          if (sql.charCodeAt(i + 1) === CH_QUOTE) {
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (s >= 128 || (CLASS[s]! & STRING_BODY) === 0) return undefined; // backslash, control, non-ASCII
        i++;
      }
      let j = i;
      while (j < n && (CLASS[sql.charCodeAt(j)]! & BLANK) !== 0) j++;
      if (sql.charCodeAt(j) === CH_QUOTE) return undefined; // 'a' 'b' or a continuation 'a'\n'b'
      key += sql.slice(copied, start) + '\x01s';
      copied = i;
      literals.push(start, i);
    } else if (c === CH_DQUOTE) {
      const prev = i > 0 ? sql.charCodeAt(i - 1) : CH_SPACE;
      if (isIdentCont(prev) || prev === CH_AMP) return undefined;
      const bodyStart = ++i;
      while (i < n && isIdentCont(sql.charCodeAt(i))) i++;
      if (i === bodyStart || sql.charCodeAt(i) !== CH_DQUOTE || sql.charCodeAt(i + 1) === CH_DQUOTE) return undefined;
      i++;
    } else if (c === CH_DOLLAR) {
      if (!isDigit(sql.charCodeAt(i + 1))) return undefined; // $$ or $tag$: dollar quoting
      i++;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      if (isIdentCont(sql.charCodeAt(i))) return undefined;
    } else if (k & OPERATOR) {
      const next = sql.charCodeAt(i + 1);
      if ((c === CH_MINUS && next === CH_MINUS) || (c === CH_SLASH && next === CH_STAR)) return undefined; // comment
      i++;
    } else if (k & PUNCT) {
      if (c === CH_DOT && isDigit(sql.charCodeAt(i + 1))) return undefined; // .5
      i++;
    } else {
      return undefined; // controls, backslash, backtick, braces
    }
  }
  key += sql.slice(copied);
  return { key, literals };
}

function isDigit(c: number): boolean {
  return c >= CH_D0 && c <= CH_D9;
}

/** 'i' when the digits fit int4 (PostgreSQL lexes them as ICONST), 'n' otherwise (FCONST). */
function intKind(sql: string, start: number, end: number): 'i' | 'n' {
  while (start < end - 1 && sql.charCodeAt(start) === CH_D0) start++;
  const len = end - start;
  if (len < INT4_MAX.length) return 'i';
  if (len > INT4_MAX.length) return 'n';
  return sql.slice(start, end) <= INT4_MAX ? 'i' : 'n';
}
