/**
 * The statement classifier the policy engine consults for every query. Decisions are made on PostgreSQL's
 * own parse tree (pg-parser.ts), never on the text; the text only serves the cache key (shape-lexer.ts).
 *
 * classify() never throws and fails closed: input it refuses (over MAX_SQL_BYTES, or holding a NUL, which
 * the wire protocol cannot carry and the C parser would silently truncate at), input that does not parse,
 * a parser fault and any internal error all give one 'unknown' statement covering the whole text, with
 * every literal of it (or, when the text does not even lex, the whole text) listed as sensitive, since
 * which columns its values are bound to cannot be known.
 *
 * Cache: statements made only of the shape lexer's subset are keyed by their shape. A result is stored
 * only when nothing in it depends on a literal's value: the classification read no literal (set_config's
 * setting name, EXPLAIN's ANALYZE value), and every literal token is exactly one A_Const of the tree,
 * found at the token's offset (so a literal that became a FETCH count, a COPY file name or an option
 * value, or a constant the grammar duplicated, keeps the statement out of the cache). Offsets are stored
 * relative to the literal tokens around them and re-derived from the new text's literals on a hit.
 */
import { Buffer } from 'node:buffer';
import { VigilError, describeError } from '../../shared/errors.ts';
import { analyzeStatement, type BindingRef, type StatementFacts } from './analyze.ts';
import { classifyStatement } from './classify-statement.ts';
import { DEFAULT_DANGEROUS_FUNCTIONS, functionMatcher, type FunctionMatcher } from './dangerous-functions.ts';
import { LruCache } from './lru-cache.ts';
import { PgParser } from './pg-parser.ts';
import { isSensitiveColumn } from './sensitive-columns.ts';
import { simpleLiteralEnd } from './literal-end.ts';
import { lexShape, type Shape } from './shape-lexer.ts';
import type { Classification, ClassifiedStatement, SensitiveBinding, SqlClassifierOptions, StatementClass } from './types.ts';

/** Larger input is refused ('unknown'): parsing cost and tree size grow with it, and no bot needs more. */
export const MAX_SQL_BYTES = 1024 * 1024;
export const DEFAULT_CACHE_SIZE = 10_000;
/** What redactForRecording puts in place of a sensitive literal: still a literal, so the text still parses. */
export const REDACTED = "'[REDACTED]'";
/** Longer texts are not cached: hot loops send short statements, and 10 000 keys of this size stay small. */
export const MAX_CACHED_SQL = 16 * 1024;
/** Bytes after a literal's start handed to the scanner first (its cost grows faster than the text's length). */
const SCAN_WINDOW = 4096;
/** Above this, an unparsable text is redacted whole rather than scanned for its literals. */
const MAX_SCAN_FOR_REFUSED = 16 * 1024;

/** An offset as (number of literal tokens before it, distance from the end of the last of them). */
type RelOffset = readonly [literalsBefore: number, delta: number];

interface CachedStatement {
  class: StatementClass;
  command: string;
  tags: readonly string[];
  tables: readonly string[];
  relations: ClassifiedStatement['relations'];
  functions: ClassifiedStatement['functions'];
  operators: ClassifiedStatement['operators'];
  attributeNames: ClassifiedStatement['attributeNames'];
  tree: unknown;
  start: RelOffset;
  end: RelOffset;
  sensitive: ReadonlyArray<
    { kind: 'literal'; ordinal: number; signStart: RelOffset | undefined; column: string } | { kind: 'param'; index: number; column: string }
  >;
}

interface CacheEntry {
  literalCount: number;
  fingerprint: string;
  statements: readonly CachedStatement[];
}

interface Uncached {
  result: Classification;
  /** Set when the result may be cached under this shape. */
  entry: CacheEntry | undefined;
}

export class SqlClassifier {
  static async create(opts: SqlClassifierOptions = {}): Promise<SqlClassifier> {
    const cacheSize = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) {
      throw new VigilError('E_SQL_OPTIONS', `cacheSize must be a non-negative integer, got ${String(opts.cacheSize)}`);
    }
    const patterns = opts.dangerousFunctions ?? DEFAULT_DANGEROUS_FUNCTIONS;
    if (patterns.some((p) => typeof p !== 'string' || p === '' || p === '*')) {
      throw new VigilError('E_SQL_OPTIONS', 'dangerousFunctions entries must be function names (a trailing * matches a prefix)');
    }
    return new SqlClassifier(await PgParser.load(), cacheSize, functionMatcher(patterns), opts.sensitiveColumn ?? isSensitiveColumn);
  }

  readonly #parser: PgParser;
  readonly #cache: LruCache<string, CacheEntry>;
  readonly #cacheEnabled: boolean;
  readonly #dangerous: FunctionMatcher;
  readonly #sensitiveColumn: (name: string) => boolean;

  private constructor(parser: PgParser, cacheSize: number, dangerous: FunctionMatcher, sensitiveColumn: (name: string) => boolean) {
    this.#parser = parser;
    this.#cache = new LruCache(cacheSize);
    this.#cacheEnabled = cacheSize > 0;
    this.#dangerous = dangerous;
    this.#sensitiveColumn = sensitiveColumn;
  }

  /** Statement shapes currently cached. */
  get cachedShapes(): number {
    return this.#cache.size;
  }

  /** The shared parser (fault count, readiness after a fault). */
  get parser(): PgParser {
    return this.#parser;
  }

  classify(sql: string): Classification {
    if (typeof sql !== 'string') return refused('', 'the SQL text is not a string', 'internal-error', undefined);
    try {
      return this.#classify(sql);
    } catch (e) {
      return refused(sql, `internal classifier error: ${describeError(e)}`, 'internal-error', undefined);
    }
  }

  /** The SQL text with every sensitive literal replaced by '[REDACTED]' (a string literal, so it still parses). */
  redactForRecording(sql: string, c: Classification): string {
    const spans: Array<[number, number]> = [];
    for (const s of c.statements) {
      for (const b of s.sensitive) if (b.kind === 'literal') spans.push([b.start, b.end]);
    }
    if (spans.length === 0) return sql;
    spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const bytes = Buffer.from(sql, 'utf8');
    const ascii = bytes.length === sql.length;
    const out: Array<string | Buffer> = [];
    let at = 0;
    for (const [start, end] of spans) {
      if (start < 0 || end > bytes.length || start > end) {
        throw new VigilError('E_SQL_REDACT', 'the classification does not describe this SQL text (a sensitive span is out of range)');
      }
      if (end <= at) continue; // inside a span already redacted
      const from = Math.max(start, at);
      out.push(ascii ? sql.slice(at, from) : bytes.subarray(at, from), REDACTED);
      at = end;
    }
    out.push(ascii ? sql.slice(at) : bytes.subarray(at));
    return ascii ? out.join('') : Buffer.concat(out.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString('utf8');
  }

  #classify(sql: string): Classification {
    if (sql.length === 0) return { statements: [], fingerprint: 'empty', cacheHit: false };
    if (sql.length > MAX_SQL_BYTES || (sql.length * 3 > MAX_SQL_BYTES && Buffer.byteLength(sql, 'utf8') > MAX_SQL_BYTES)) {
      return refused(sql, `the SQL text is larger than ${MAX_SQL_BYTES} bytes: not classified`, 'too-large', undefined);
    }
    if (sql.includes('\0')) return refused(sql, 'the SQL text contains a NUL character: not classified', 'nul-character', undefined);

    const shape = this.#cacheEnabled && sql.length <= MAX_CACHED_SQL ? lexShape(sql) : undefined;
    if (shape) {
      const entry = this.#cache.get(shape.key);
      if (entry && entry.literalCount * 2 === shape.literals.length) return fromCache(entry, shape);
    }
    const { result, entry } = this.#parseAndClassify(sql, shape);
    if (shape && entry) this.#cache.set(shape.key, entry);
    return result;
  }

  #parseAndClassify(sql: string, shape: Shape | undefined): Uncached {
    const text = new TextOf(sql);
    const parsed = this.#parser.parse(sql);
    if (!parsed.ok) {
      const why = parsed.kind === 'syntax' ? `${parsed.message} (at character ${parsed.cursor + 1})` : parsed.message;
      return { result: refused(sql, why, parsed.kind === 'syntax' ? 'parse-error' : 'parser-fault', this.#parser), entry: undefined };
    }
    const stmts = parsed.tree.stmts;
    const statements: ClassifiedStatement[] = [];
    const allFacts: StatementFacts[] = [];
    const literals = new LiteralSpans(sql, text, shape, this.#parser);
    for (const raw of stmts) {
      const facts = analyzeStatement(raw.stmt, { dangerous: this.#dangerous, sensitiveColumn: this.#sensitiveColumn });
      const verdict = classifyStatement(raw.stmt, facts);
      const start = raw.stmt_location ?? 0;
      const end = text.trimEnd(start, raw.stmt_len ? start + raw.stmt_len : text.byteLength);
      statements.push({
        class: verdict.class,
        command: verdict.command,
        tags: verdict.tags,
        tables: facts.tables,
        location: { start, end },
        sensitive: sortBindings(facts.sensitive.map((b) => literals.resolve(b, end))),
        relations: facts.relations,
        functions: facts.functions,
        operators: facts.operators,
        attributeNames: facts.attributeNames,
        tree: raw.stmt,
      });
      allFacts.push(facts);
    }
    const fingerprint = stmts.length === 0 ? 'empty' : (this.#parser.fingerprint(sql) ?? 'unfingerprinted');
    const result: Classification = { statements, fingerprint, cacheHit: false };
    const entry = shape ? cacheEntry(sql, shape, result, allFacts) : undefined;
    return { result, entry };
  }
}

/** Byte-level access to the SQL text; the UTF-8 copy is kept only when the text is not ASCII. */
class TextOf {
  readonly #sql: string;
  readonly #bytes: Buffer | undefined;

  constructor(sql: string) {
    this.#sql = sql;
    const bytes = Buffer.from(sql, 'utf8');
    this.#bytes = bytes.length === sql.length ? undefined : bytes;
  }

  get byteLength(): number {
    return this.#bytes?.length ?? this.#sql.length;
  }

  /** The byte at `i`, or -1 past either end. */
  byteAt(i: number): number {
    if (this.#bytes) return this.#bytes[i] ?? -1;
    return i >= 0 && i < this.#sql.length ? this.#sql.charCodeAt(i) : -1;
  }

  /** The text of bytes [start, end). */
  slice(start: number, end: number): string {
    return this.#bytes ? this.#bytes.subarray(start, end).toString('utf8') : this.#sql.slice(start, end);
  }

  /** `end` moved back over blanks (PostgreSQL's statement length includes those before the `;`). */
  trimEnd(start: number, end: number): number {
    while (end > start && isBlank(this.byteAt(end - 1))) end--;
    return end;
  }
}

/** Literals in text order, then parameters by number. */
function sortBindings(bindings: SensitiveBinding[]): SensitiveBinding[] {
  const key = (b: SensitiveBinding) => (b.kind === 'literal' ? b.start : Number.MAX_SAFE_INTEGER / 2 + b.index);
  return bindings.sort((a, b) => key(a) - key(b));
}

function isBlank(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/** Finds the byte span of the literal token an A_Const came from. */
class LiteralSpans {
  readonly #sql: string;
  readonly #text: TextOf;
  readonly #shape: Shape | undefined;
  readonly #parser: PgParser;
  readonly #byteAt: (i: number) => number;

  constructor(sql: string, text: TextOf, shape: Shape | undefined, parser: PgParser) {
    this.#sql = sql;
    this.#text = text;
    this.#shape = shape;
    this.#parser = parser;
    this.#byteAt = (i) => text.byteAt(i);
  }

  resolve(b: BindingRef, statementEnd: number): SensitiveBinding {
    if (b.kind === 'param') return b;
    // Should the token not be found, redact to the end of the statement rather than leak the value.
    const end = this.#end(b.location, statementEnd) ?? Math.max(statementEnd, b.location);
    return { kind: 'literal', start: b.location, end, column: b.column };
  }

  #end(location: number, statementEnd: number): number | undefined {
    if (this.#shape) {
      const ordinal = literalOrdinal(this.#sql, this.#shape, location);
      if (ordinal !== undefined) return this.#shape.literals[ordinal * 2 + 1];
    }
    return (
      simpleLiteralEnd(this.#byteAt, location, statementEnd) ??
      this.#scannedEnd(location, Math.min(statementEnd, location + SCAN_WINDOW)) ??
      this.#scannedEnd(location, statementEnd)
    );
  }

  /** PostgreSQL's scanner over [location, limit): the lexer starts fresh at a token boundary, so its first
   *  token (after a folded minus, the number) is the literal. Undefined when that text does not lex. */
  #scannedEnd(location: number, limit: number): number | undefined {
    const tokens = this.#parser.scan(this.#text.slice(location, limit));
    const first = tokens?.[0];
    if (!tokens || !first || first.start !== 0) return undefined;
    if (this.#text.byteAt(location) !== 0x2d) return location + first.end;
    const number = tokens.slice(1).find((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
    return number && (number.tokenName === 'ICONST' || number.tokenName === 'FCONST') ? location + number.end : undefined;
  }
}

/**
 * The lexer literal an A_Const at `location` came from: the one starting there, or, for a negative number
 * (the parser folds `-5` into one constant located at the minus), the number after the minus and blanks.
 */
function literalOrdinal(sql: string, shape: Shape, location: number): number | undefined {
  let target = location;
  if (sql.charCodeAt(location) === 0x2d) {
    target = location + 1;
    while (isBlank(sql.charCodeAt(target))) target++;
    const c = sql.charCodeAt(target);
    if (!(c >= 0x30 && c <= 0x39)) return undefined;
  }
  const lits = shape.literals;
  let lo = 0;
  let hi = lits.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = lits[mid * 2]!;
    if (s === target) return mid;
    if (s < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

function toRel(shape: Shape, offset: number): RelOffset | undefined {
  const lits = shape.literals;
  let k = 0;
  while (k * 2 < lits.length && lits[k * 2 + 1]! <= offset) k++;
  if (k * 2 < lits.length && lits[k * 2]! < offset) return undefined; // inside a literal
  return [k, offset - (k === 0 ? 0 : lits[k * 2 - 1]!)];
}

function fromRel(literals: readonly number[], [k, delta]: RelOffset): number {
  return (k === 0 ? 0 : literals[k * 2 - 1]!) + delta;
}

/** The cacheable form of a fresh result, or undefined when a literal's value could matter (see the header). */
function cacheEntry(sql: string, shape: Shape, result: Classification, facts: readonly StatementFacts[]): CacheEntry | undefined {
  if (facts.some((f) => f.valueDependent)) return undefined;
  const count = shape.literals.length / 2;
  const seen = new Uint8Array(count);
  let matched = 0;
  for (const f of facts) {
    for (const location of f.constLocations) {
      const ordinal = literalOrdinal(sql, shape, location);
      if (ordinal === undefined || seen[ordinal] === 1) return undefined;
      seen[ordinal] = 1;
      matched++;
    }
  }
  if (matched !== count) return undefined;

  const statements: CachedStatement[] = [];
  for (const s of result.statements) {
    const start = toRel(shape, s.location.start);
    const end = toRel(shape, s.location.end);
    if (!start || !end) return undefined;
    const sensitive: CachedStatement['sensitive'][number][] = [];
    for (const b of s.sensitive) {
      if (b.kind === 'param') {
        sensitive.push(b);
        continue;
      }
      const ordinal = literalOrdinal(sql, shape, b.start);
      if (ordinal === undefined || shape.literals[ordinal * 2 + 1] !== b.end) return undefined;
      const signed = shape.literals[ordinal * 2] !== b.start;
      const signStart = signed ? toRel(shape, b.start) : undefined;
      if (signed && !signStart) return undefined;
      sensitive.push({ kind: 'literal', ordinal, signStart, column: b.column });
    }
    statements.push({ class: s.class, command: s.command, tags: [...s.tags], tables: [...s.tables], relations: s.relations, functions: s.functions, operators: s.operators, attributeNames: s.attributeNames, tree: s.tree, start, end, sensitive });
  }
  return { literalCount: count, fingerprint: result.fingerprint, statements };
}

function fromCache(entry: CacheEntry, shape: Shape): Classification {
  const lits = shape.literals;
  const statements: ClassifiedStatement[] = entry.statements.map((s) => ({
    class: s.class,
    command: s.command,
    tags: s.tags.slice(),
    tables: s.tables.slice(),
    relations: s.relations,
    functions: s.functions,
    operators: s.operators,
    attributeNames: s.attributeNames,
    tree: s.tree,
    location: { start: fromRel(lits, s.start), end: fromRel(lits, s.end) },
    sensitive: s.sensitive.map((b) =>
      b.kind === 'param'
        ? { kind: 'param', index: b.index, column: b.column }
        : {
            kind: 'literal',
            start: b.signStart ? fromRel(lits, b.signStart) : lits[b.ordinal * 2]!,
            end: lits[b.ordinal * 2 + 1]!,
            column: b.column,
          },
    ),
  }));
  return { statements, fingerprint: entry.fingerprint, cacheHit: true };
}

/**
 * One 'unknown' statement over the whole text. Its bindings cannot be known, so every literal token is
 * listed as sensitive (column '*'), or the whole text when it cannot be tokenised either.
 */
function refused(sql: string, why: string, tag: string, parser: PgParser | undefined): Classification {
  const text = new TextOf(sql);
  const end = text.trimEnd(0, text.byteLength);
  const tokens = end <= MAX_SCAN_FOR_REFUSED ? parser?.scan(sql) : undefined;
  const sensitive: SensitiveBinding[] = tokens
    ? tokens.filter((t) => LITERAL_TOKENS.has(t.tokenName)).map((t) => ({ kind: 'literal', start: t.start, end: t.end, column: '*' }))
    : end > 0
      ? [{ kind: 'literal', start: 0, end, column: '*' }]
      : [];
  return {
    statements: [{ class: 'unknown', command: 'UNKNOWN', tags: [tag], tables: [], location: { start: 0, end }, sensitive, relations: [], functions: [], operators: [], tree: undefined }],
    fingerprint: 'unparsed',
    cacheHit: false,
    parseError: why,
  };
}

const LITERAL_TOKENS = new Set(['SCONST', 'USCONST', 'ICONST', 'FCONST', 'BCONST', 'XCONST']);
