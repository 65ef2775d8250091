/** What a statement does, as far as policy is concerned. See README.md beside this file for every rule. */
export type StatementClass =
  | 'read'
  | 'write'
  | 'ddl'
  | 'dcl'
  | 'transaction'
  | 'session'
  | 'role-change'
  | 'copy-out'
  | 'copy-in'
  | 'program'
  | 'procedural'
  /** Holds server resources or waits: pg_sleep, advisory locks, notifications (escalated from a read by the gateway). */
  | 'resource'
  | 'admin'
  /** Unparsable, refused, or a node type the classifier does not know: policy treats it as the most restrictive. */
  | 'unknown';

/** A literal (UTF-8 byte span of its token, sign included) or a parameter bound to a card-security column. */
export type SensitiveBinding =
  | { kind: 'literal'; start: number; end: number; column: string }
  | { kind: 'param'; index: number; column: string };

/** A relation as written: [catalog, schema,] name, folded as PostgreSQL folds them. CTE names are left out. */
export interface RelationRef {
  parts: readonly string[];
}

/** A function call as written: name parts, argument count, and the constant arguments that decide its effect. */
export interface FunctionRef {
  parts: readonly string[];
  args: number;
  /**
   * For built-ins whose effect depends on an argument (SQL text, a relation, a schema or cursor name): the
   * string constants by position and by parameter name (named notation); null where it is not a constant.
   */
  constants?: { positional: readonly (string | null)[]; named: Readonly<Record<string, string | null>> };
}

export interface ClassifiedStatement {
  class: StatementClass;
  /** Human label: 'SELECT', 'DROP TABLE', 'COPY TO STDOUT', 'DO', 'SET ROLE'… */
  command: string;
  /** Details policy may match on: 'drop', 'truncate', 'cte-write', 'explain-analyze', 'dangerous-function:NAME'… */
  tags: string[];
  /** Relations referenced, schema-qualified when written so, identifiers quoted when they need it; no duplicates. */
  tables: string[];
  /** UTF-8 byte offsets of this statement within the SQL text (end exclusive, trailing blanks and ; excluded). */
  location: { start: number; end: number };
  /** Literals and parameters bound to card-security columns (CVV, track data, PIN): the recorder redacts them entirely. */
  sensitive: SensitiveBinding[];
  /** The relations `tables` names, as name parts (for resolution against the target's search_path). */
  relations: readonly RelationRef[];
  /** Every function called, in order of first appearance (duplicates removed). */
  functions: readonly FunctionRef[];
  /** Every operator name used (`+`, `||`, `@@`…): user-defined operators call functions too. */
  operators: readonly string[];
  /**
   * Names in attribute position: the last name of a qualified column reference (`t.f`) and field selections
   * (`(t).f`, `(t.*).f`). PostgreSQL reads one as the call f(t) when t has no column f (attribute notation).
   */
  attributeNames?: readonly string[];
  /**
   * The statement's parse tree (libpg_query JSON, read-only; shared by every statement of the same shape,
   * so literal values in it are those of the first one): what output provenance is computed from.
   */
  tree: unknown;
}

export interface Classification {
  /** One per statement of a multi-statement string; [] for an empty query. */
  statements: ClassifiedStatement[];
  /** Shape key: identical for statements that differ only in literal values ('empty', 'unparsed' otherwise). */
  fingerprint: string;
  cacheHit: boolean;
  /** When set, statements = [{ class: 'unknown', … }] covering the whole text. */
  parseError?: string;
}

export interface SqlClassifierOptions {
  /** Statement shapes kept in the LRU cache (default 10 000; 0 disables the cache). */
  cacheSize?: number;
  /** Function names whose call makes a statement 'procedural'; a trailing * matches a prefix. Replaces the default list. */
  dangerousFunctions?: string[];
  /** Whether a column holds card-security data (default: isSensitiveColumn). */
  sensitiveColumn?: (name: string) => boolean;
}
