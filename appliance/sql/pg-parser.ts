/**
 * PostgreSQL's own parser (libpg_query compiled to wasm, from the `libpg-query` package), driven directly
 * through its Emscripten module so that a fault can be contained.
 *
 * Why not the package's parseSync: it keeps one module instance for the process. A statement whose tree is
 * deep enough (`SELECT 1+1+…+1` with a few thousand terms is ~10 KiB) overflows the stack inside the wasm
 * code; the trap leaves the module's shadow stack and memory contexts half-unwound, and after a few dozen
 * such traps every parse fails ("memory access out of bounds"). A parser that may be in an undefined state
 * must never classify again, so after any trap this instance is dropped and a warm spare takes over; a new
 * spare is loaded in the background. While none is ready, calls report `unavailable` (the caller fails
 * closed).
 *
 * Only the libpg_query C API is used (pg_query_parse / fingerprint / scan wrappers and their result
 * structs), pinned by the exact package version; test/unit/appliance/sql checks the output against the
 * package's own parseSync so an upgrade that changes the layout fails loudly.
 */
import { createRequire } from 'node:module';
import { VigilError } from '../../shared/errors.ts';

interface EmscriptenModule {
  _malloc(size: number): number;
  _free(ptr: number): void;
  lengthBytesUTF8(s: string): number;
  stringToUTF8(s: string, ptr: number, maxBytes: number): void;
  UTF8ToString(ptr: number): string;
  getValue(ptr: number, type: 'i32'): number;
  _wasm_parse_query_raw(queryPtr: number): number;
  _wasm_free_parse_result(resultPtr: number): void;
  _wasm_fingerprint(queryPtr: number): number;
  _wasm_scan(queryPtr: number): number;
  _wasm_free_string(ptr: number): void;
}

type ModuleFactory = () => Promise<EmscriptenModule>;

/** The raw parse tree: `{ version, stmts: [{ stmt: { NodeType: {...} }, stmt_location?, stmt_len? }] }`. */
export interface RawParseResult {
  version: number;
  stmts: Array<{ stmt: unknown; stmt_location?: number; stmt_len?: number }>;
}

export interface ScanToken {
  start: number;
  end: number;
  text: string;
  tokenName: string;
}

export type ParseOutcome =
  | { ok: true; tree: RawParseResult }
  /** A syntax error PostgreSQL itself would report; `cursor` counts characters (PostgreSQL's error position), from 0. */
  | { ok: false; kind: 'syntax'; message: string; cursor: number }
  /** The parser trapped (this input) or is being replaced after an earlier trap. */
  | { ok: false; kind: 'fault' | 'unavailable'; message: string };

const require = createRequire(import.meta.url);

export class PgParser {
  static #shared: Promise<PgParser> | undefined;

  /** The process-wide parser (two module instances: the active one and a spare). */
  static load(): Promise<PgParser> {
    PgParser.#shared ??= PgParser.#create().catch((e: unknown) => {
      PgParser.#shared = undefined;
      throw new VigilError('E_SQL_PARSER', 'could not load the PostgreSQL parser (libpg-query)', { cause: e });
    });
    return PgParser.#shared;
  }

  static async #create(): Promise<PgParser> {
    const factory = require('libpg-query/wasm/libpg-query.js') as ModuleFactory;
    const [active, spare] = await Promise.all([factory(), factory()]);
    return new PgParser(factory, active, spare);
  }

  readonly #factory: ModuleFactory;
  #active: EmscriptenModule | undefined;
  #spare: EmscriptenModule | undefined;
  #loading: Promise<void> | undefined;
  #faults = 0;

  private constructor(factory: ModuleFactory, active: EmscriptenModule, spare: EmscriptenModule) {
    this.#factory = factory;
    this.#active = active;
    this.#spare = spare;
  }

  /** Traps contained since the process started (each one retired a module instance). */
  get faults(): number {
    return this.#faults;
  }

  /** Resolves once a spare instance is loaded again (tests and health checks). */
  async ready(): Promise<void> {
    while (this.#loading) await this.#loading;
  }

  parse(sql: string): ParseOutcome {
    const r = this.#call(sql, (m, q) => {
      const result = m._wasm_parse_query_raw(q);
      if (!result) return { ok: false, kind: 'fault', message: 'the parser could not allocate memory' } as const;
      try {
        // struct PgQueryParseResult { char *parse_tree; char *stderr_buffer; PgQueryError *error; }
        const tree = m.getValue(result, 'i32');
        const error = m.getValue(result + 8, 'i32');
        if (error) {
          // struct PgQueryError { char *message; char *funcname; char *filename; int lineno; int cursorpos; … }
          const messagePtr = m.getValue(error, 'i32');
          const cursorpos = m.getValue(error + 16, 'i32');
          const message = messagePtr ? m.UTF8ToString(messagePtr) : 'syntax error';
          return { ok: false, kind: 'syntax', message, cursor: cursorpos > 0 ? cursorpos - 1 : 0 } as const;
        }
        if (!tree) return { ok: false, kind: 'fault', message: 'the parser returned no tree' } as const;
        return { ok: true, tree: JSON.parse(m.UTF8ToString(tree)) as RawParseResult } as const;
      } finally {
        m._wasm_free_parse_result(result);
      }
    });
    return 'fault' in r ? r.fault : r.value;
  }

  /** pg_query's fingerprint (constants and parameters ignored), or undefined when it cannot be computed. */
  fingerprint(sql: string): string | undefined {
    const r = this.#call(sql, (m, q) => this.#takeString(m, m._wasm_fingerprint(q)));
    if ('fault' in r) return undefined;
    return /^[0-9a-f]{16}$/.test(r.value) ? r.value : undefined;
  }

  /** The lexer's tokens with UTF-8 byte offsets, or undefined when the text does not lex. */
  scan(sql: string): ScanToken[] | undefined {
    const r = this.#call(sql, (m, q) => this.#takeString(m, m._wasm_scan(q)));
    if ('fault' in r || !r.value.startsWith('{')) return undefined;
    try {
      return (JSON.parse(r.value) as { tokens?: ScanToken[] }).tokens ?? [];
    } catch {
      return undefined;
    }
  }

  #takeString(m: EmscriptenModule, ptr: number): string {
    if (!ptr) return '';
    try {
      return m.UTF8ToString(ptr);
    } finally {
      m._wasm_free_string(ptr);
    }
  }

  /** Runs `f` on the active instance with `sql` copied in; any exception is a trap that retires the instance. */
  #call<T>(sql: string, f: (m: EmscriptenModule, queryPtr: number) => T): { value: T } | { fault: ParseOutcome } {
    const m = this.#active ?? this.#promoteSpare();
    if (!m) return { fault: { ok: false, kind: 'unavailable', message: 'the SQL parser is restarting after a fault' } };
    let queryPtr = 0;
    try {
      const size = m.lengthBytesUTF8(sql) + 1;
      queryPtr = m._malloc(size);
      if (!queryPtr) throw new Error('malloc failed');
      m.stringToUTF8(sql, queryPtr, size);
      const value = f(m, queryPtr);
      m._free(queryPtr);
      return { value };
    } catch (e) {
      this.#retire(m);
      const why = e instanceof Error ? e.message : String(e);
      return { fault: { ok: false, kind: 'fault', message: `the SQL parser failed on this input (${why})` } };
    }
  }

  #promoteSpare(): EmscriptenModule | undefined {
    this.#active = this.#spare;
    this.#spare = undefined;
    this.#replenish();
    return this.#active;
  }

  #retire(m: EmscriptenModule): void {
    if (this.#active !== m) return;
    this.#faults++;
    this.#active = undefined;
    this.#promoteSpare();
  }

  #replenish(): void {
    if (this.#loading || (this.#active && this.#spare)) return;
    this.#loading = this.#factory().then(
      (m) => {
        this.#loading = undefined;
        if (!this.#active) this.#active = m;
        else this.#spare = m;
        this.#replenish();
      },
      () => {
        // Not retried in a loop: the next call that finds no instance starts another load.
        this.#loading = undefined;
      },
    );
  }
}
