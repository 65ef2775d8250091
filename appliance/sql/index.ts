/** The SQL statement classifier: PostgreSQL's parse tree → the class the policy engine decides on. */
export { DEFAULT_CACHE_SIZE, MAX_CACHED_SQL, MAX_SQL_BYTES, REDACTED, SqlClassifier } from './classifier.ts';
export { DEFAULT_DANGEROUS_FUNCTIONS } from './dangerous-functions.ts';
export { isPanColumn, isSensitiveColumn } from './sensitive-columns.ts';
export type {
  Classification,
  ClassifiedStatement,
  FunctionRef,
  RelationRef,
  SensitiveBinding,
  SqlClassifierOptions,
  StatementClass,
} from './types.ts';
