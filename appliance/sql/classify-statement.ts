/**
 * A statement's class, command label and tags, decided on its parse tree. The top node type decides the
 * class; wrappers (EXPLAIN, COPY (query), DECLARE, PREPARE) look at the statement they wrap; then what the
 * whole tree does can only raise it: a writable CTE makes a SELECT a write, a dangerous function makes a
 * data statement procedural, set_config('role', …) makes it a role change. The rules and their reasons are
 * listed in README.md beside this file.
 */
import { asNode, isObj, list, nodeBody, num, type Obj, str } from './ast.ts';
import { ENCODING_SETTING, LEXING_SETTING, type StatementFacts } from './analyze.ts';
import type { StatementClass } from './types.ts';

export interface Verdict {
  class: StatementClass;
  command: string;
  tags: string[];
}

/** Settings whose SET is not cached by shape: its value decides (see variableSet). */
const VALUE_READ_SETTINGS = new Set([LEXING_SETTING, ENCODING_SETTING, 'search_path', 'statement_timeout']);

/** Classes that no other signal overrides: already the most restrictive for what they are. */
const FINAL = new Set<StatementClass>(['unknown', 'program', 'admin']);

/** Statements decided by their node type alone: [class, command, …tags]. */
const SIMPLE: Record<string, readonly [StatementClass, string, ...string[]]> = {
  VariableShowStmt: ['read', 'SHOW'],

  CreateStmt: ['ddl', 'CREATE TABLE'],
  ViewStmt: ['ddl', 'CREATE VIEW'],
  IndexStmt: ['ddl', 'CREATE INDEX'],
  CreateSchemaStmt: ['ddl', 'CREATE SCHEMA'],
  CreateSeqStmt: ['ddl', 'CREATE SEQUENCE'],
  AlterSeqStmt: ['ddl', 'ALTER SEQUENCE'],
  CreateDomainStmt: ['ddl', 'CREATE DOMAIN'],
  AlterDomainStmt: ['ddl', 'ALTER DOMAIN'],
  CompositeTypeStmt: ['ddl', 'CREATE TYPE'],
  CreateEnumStmt: ['ddl', 'CREATE TYPE'],
  CreateRangeStmt: ['ddl', 'CREATE TYPE'],
  AlterEnumStmt: ['ddl', 'ALTER TYPE'],
  AlterTypeStmt: ['ddl', 'ALTER TYPE'],
  AlterFunctionStmt: ['ddl', 'ALTER FUNCTION'],
  RuleStmt: ['ddl', 'CREATE RULE'],
  CreateTrigStmt: ['ddl', 'CREATE TRIGGER'],
  CreateEventTrigStmt: ['ddl', 'CREATE EVENT TRIGGER'],
  AlterEventTrigStmt: ['ddl', 'ALTER EVENT TRIGGER'],
  CreateCastStmt: ['ddl', 'CREATE CAST'],
  CreateConversionStmt: ['ddl', 'CREATE CONVERSION'],
  CreateTransformStmt: ['ddl', 'CREATE TRANSFORM'],
  CreateOpClassStmt: ['ddl', 'CREATE OPERATOR CLASS'],
  CreateOpFamilyStmt: ['ddl', 'CREATE OPERATOR FAMILY'],
  AlterOpFamilyStmt: ['ddl', 'ALTER OPERATOR FAMILY'],
  AlterOperatorStmt: ['ddl', 'ALTER OPERATOR'],
  CreateStatsStmt: ['ddl', 'CREATE STATISTICS'],
  AlterStatsStmt: ['ddl', 'ALTER STATISTICS'],
  CreatePolicyStmt: ['ddl', 'CREATE POLICY'],
  AlterPolicyStmt: ['ddl', 'ALTER POLICY'],
  CreateAmStmt: ['ddl', 'CREATE ACCESS METHOD'],
  AlterCollationStmt: ['ddl', 'ALTER COLLATION'],
  AlterTSDictionaryStmt: ['ddl', 'ALTER TEXT SEARCH DICTIONARY'],
  AlterTSConfigurationStmt: ['ddl', 'ALTER TEXT SEARCH CONFIGURATION'],
  CreateFdwStmt: ['ddl', 'CREATE FOREIGN DATA WRAPPER'],
  AlterFdwStmt: ['ddl', 'ALTER FOREIGN DATA WRAPPER'],
  CreateForeignServerStmt: ['ddl', 'CREATE SERVER'],
  AlterForeignServerStmt: ['ddl', 'ALTER SERVER'],
  CreateForeignTableStmt: ['ddl', 'CREATE FOREIGN TABLE'],
  CreateUserMappingStmt: ['ddl', 'CREATE USER MAPPING'],
  AlterUserMappingStmt: ['ddl', 'ALTER USER MAPPING'],
  DropUserMappingStmt: ['ddl', 'DROP USER MAPPING', 'drop'],
  ImportForeignSchemaStmt: ['ddl', 'IMPORT FOREIGN SCHEMA'],
  CreatePublicationStmt: ['ddl', 'CREATE PUBLICATION'],
  AlterPublicationStmt: ['ddl', 'ALTER PUBLICATION'],
  AlterObjectDependsStmt: ['ddl', 'ALTER DEPENDS ON EXTENSION'],
  RefreshMatViewStmt: ['ddl', 'REFRESH MATERIALIZED VIEW'],
  CommentStmt: ['ddl', 'COMMENT'],
  SecLabelStmt: ['ddl', 'SECURITY LABEL'],

  // Cluster-wide capability, server files or replication: decided by whoever runs the cluster.
  CreatePLangStmt: ['admin', 'CREATE LANGUAGE'],
  CreateExtensionStmt: ['admin', 'CREATE EXTENSION'],
  AlterExtensionStmt: ['admin', 'ALTER EXTENSION'],
  AlterExtensionContentsStmt: ['admin', 'ALTER EXTENSION'],
  CreateTableSpaceStmt: ['admin', 'CREATE TABLESPACE'],
  DropTableSpaceStmt: ['admin', 'DROP TABLESPACE', 'drop'],
  AlterTableSpaceOptionsStmt: ['admin', 'ALTER TABLESPACE'],
  AlterTableMoveAllStmt: ['admin', 'ALTER TABLE ALL IN TABLESPACE'],
  CreatedbStmt: ['admin', 'CREATE DATABASE'],
  AlterDatabaseStmt: ['admin', 'ALTER DATABASE'],
  AlterDatabaseRefreshCollStmt: ['admin', 'ALTER DATABASE'],
  AlterDatabaseSetStmt: ['admin', 'ALTER DATABASE SET'],
  DropdbStmt: ['admin', 'DROP DATABASE', 'drop'],
  CreateSubscriptionStmt: ['admin', 'CREATE SUBSCRIPTION'],
  AlterSubscriptionStmt: ['admin', 'ALTER SUBSCRIPTION'],
  DropSubscriptionStmt: ['admin', 'DROP SUBSCRIPTION', 'drop'],
  AlterSystemStmt: ['admin', 'ALTER SYSTEM'],
  ClusterStmt: ['admin', 'CLUSTER'],
  ReindexStmt: ['admin', 'REINDEX'],
  CheckPointStmt: ['admin', 'CHECKPOINT'],
  LoadStmt: ['admin', 'LOAD'],

  AlterDefaultPrivilegesStmt: ['dcl', 'ALTER DEFAULT PRIVILEGES'],
  AlterRoleStmt: ['dcl', 'ALTER ROLE'],
  AlterRoleSetStmt: ['dcl', 'ALTER ROLE SET'],
  DropRoleStmt: ['dcl', 'DROP ROLE', 'drop'],
  ReassignOwnedStmt: ['dcl', 'REASSIGN OWNED'],
  DropOwnedStmt: ['dcl', 'DROP OWNED', 'drop'],

  ConstraintsSetStmt: ['transaction', 'SET CONSTRAINTS'],

  DeallocateStmt: ['session', 'DEALLOCATE'],
  ListenStmt: ['session', 'LISTEN'],
  UnlistenStmt: ['session', 'UNLISTEN'],
  NotifyStmt: ['session', 'NOTIFY'],
  ClosePortalStmt: ['session', 'CLOSE'],

  // The body of DO is opaque (PL/pgSQL, or any installed language); CALL runs a procedure.
  DoStmt: ['procedural', 'DO'],
  CallStmt: ['procedural', 'CALL'],

  // Which statement it runs is only known to the session that prepared it: nothing can be assumed.
  ExecuteStmt: ['unknown', 'EXECUTE', 'unresolved-prepared-statement'],
};

const TRANSACTION: Record<string, readonly [StatementClass, string]> = {
  TRANS_STMT_BEGIN: ['transaction', 'BEGIN'],
  TRANS_STMT_START: ['transaction', 'START TRANSACTION'],
  TRANS_STMT_COMMIT: ['transaction', 'COMMIT'],
  TRANS_STMT_ROLLBACK: ['transaction', 'ROLLBACK'],
  TRANS_STMT_SAVEPOINT: ['transaction', 'SAVEPOINT'],
  TRANS_STMT_RELEASE: ['transaction', 'RELEASE SAVEPOINT'],
  TRANS_STMT_ROLLBACK_TO: ['transaction', 'ROLLBACK TO SAVEPOINT'],
  // Two-phase commit outlives the session and holds locks until someone resolves it.
  TRANS_STMT_PREPARE: ['admin', 'PREPARE TRANSACTION'],
  TRANS_STMT_COMMIT_PREPARED: ['admin', 'COMMIT PREPARED'],
  TRANS_STMT_ROLLBACK_PREPARED: ['admin', 'ROLLBACK PREPARED'],
};

const OBJECT_WORDS: Record<string, string> = {
  OBJECT_MATVIEW: 'MATERIALIZED VIEW',
  OBJECT_FDW: 'FOREIGN DATA WRAPPER',
  OBJECT_FOREIGN_SERVER: 'SERVER',
  OBJECT_TSCONFIGURATION: 'TEXT SEARCH CONFIGURATION',
  OBJECT_TSDICTIONARY: 'TEXT SEARCH DICTIONARY',
  OBJECT_TSPARSER: 'TEXT SEARCH PARSER',
  OBJECT_TSTEMPLATE: 'TEXT SEARCH TEMPLATE',
  OBJECT_OPCLASS: 'OPERATOR CLASS',
  OBJECT_OPFAMILY: 'OPERATOR FAMILY',
  OBJECT_STATISTIC_EXT: 'STATISTICS',
  OBJECT_LARGEOBJECT: 'LARGE OBJECT',
  OBJECT_TABCONSTRAINT: 'CONSTRAINT',
  OBJECT_DOMCONSTRAINT: 'CONSTRAINT',
};

function objectWord(objectType: unknown, fallback = 'OBJECT'): string {
  const t = str(objectType);
  if (t === undefined) return fallback;
  return OBJECT_WORDS[t] ?? t.replace(/^OBJECT_/, '').replace(/_/g, ' ');
}

/** Object types whose ALTER/RENAME/OWNER is cluster-level or about roles. */
function alterClass(objectType: unknown): StatementClass {
  if (objectType === 'OBJECT_ROLE') return 'dcl';
  if (objectType === 'OBJECT_DATABASE' || objectType === 'OBJECT_TABLESPACE' || objectType === 'OBJECT_EXTENSION') return 'admin';
  return 'ddl';
}

export function classifyStatement(stmt: unknown, facts: StatementFacts): Verdict {
  const v = base(stmt, facts);
  return escalate(v, facts);
}

/** The class the statement's own kind gives it (wrappers look inside). */
function base(stmt: unknown, facts: StatementFacts): Verdict {
  const node = asNode(stmt);
  if (!node) return { class: 'unknown', command: 'UNKNOWN', tags: ['unrecognised-node'] };
  const { type, body } = node;
  const simple = SIMPLE[type];
  if (simple) {
    const [cls, command, ...tags] = simple;
    return { class: cls, command, tags };
  }
  switch (type) {
    case 'SelectStmt':
      return select(body, facts);
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return dml(type, body, facts);
    case 'ExplainStmt':
      return explain(body, facts);
    case 'CopyStmt':
      return copy(body, facts);
    case 'DeclareCursorStmt': {
      const inner = base(body.query, facts);
      // A cursor runs its query on FETCH: a cursor over anything but a read takes the query's class.
      return { class: inner.class === 'read' ? 'session' : inner.class, command: 'DECLARE CURSOR', tags: inner.tags };
    }
    case 'PrepareStmt': {
      const inner = base(body.query, facts);
      return { class: 'session', command: 'PREPARE', tags: [`prepares:${inner.class}`, ...inner.tags] };
    }
    case 'FetchStmt':
      return { class: 'read', command: body.ismove === true ? 'MOVE' : 'FETCH', tags: [] };
    case 'VariableSetStmt':
      return variableSet(body, facts);
    case 'DiscardStmt': {
      const target = str(body.target)?.replace(/^DISCARD_/, '') ?? 'ALL';
      // DISCARD ALL includes SET SESSION AUTHORIZATION DEFAULT: back to the login role.
      return { class: 'session', command: `DISCARD ${target}`, tags: target === 'ALL' ? ['resets-role'] : [] };
    }
    case 'TransactionStmt': {
      const t = TRANSACTION[str(body.kind) ?? ''];
      return t ? { class: t[0], command: t[1], tags: [] } : { class: 'unknown', command: 'TRANSACTION', tags: ['unrecognised-node'] };
    }
    case 'LockStmt':
      // ACCESS SHARE (mode 1) is what a SELECT takes; every stronger mode needs write privileges and blocks writers.
      return { class: (num(body.mode) ?? 8) <= 1 ? 'read' : 'write', command: 'LOCK', tags: ['lock'] };
    case 'CreateTableAsStmt': {
      const command =
        body.is_select_into === true ? 'SELECT INTO' : body.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS';
      return { class: 'ddl', command, tags: facts.dataModifying > 0 ? ['cte-write'] : [] };
    }
    case 'CreateFunctionStmt':
      return { class: 'ddl', command: body.is_procedure === true ? 'CREATE PROCEDURE' : 'CREATE FUNCTION', tags: [] };
    case 'DefineStmt':
      return { class: 'ddl', command: `CREATE ${objectWord(body.kind)}`, tags: [] };
    case 'AlterTableStmt':
      return alterTable(body);
    case 'DropStmt': {
      const tags = ['drop'];
      if (body.behavior === 'DROP_CASCADE') tags.push('cascade');
      // Extensions are installed by whoever runs the cluster, so removing one is theirs too.
      const cls = body.removeType === 'OBJECT_EXTENSION' ? 'admin' : 'ddl';
      return { class: cls, command: `DROP ${objectWord(body.removeType)}`, tags };
    }
    case 'TruncateStmt':
      return { class: 'ddl', command: 'TRUNCATE', tags: body.behavior === 'DROP_CASCADE' ? ['truncate', 'cascade'] : ['truncate'] };
    case 'RenameStmt': {
      const renamed = body.renameType === 'OBJECT_COLUMN' || body.renameType === 'OBJECT_TABCONSTRAINT' ? body.relationType : body.renameType;
      return { class: alterClass(renamed), command: `ALTER ${objectWord(renamed)} RENAME`, tags: [] };
    }
    case 'AlterObjectSchemaStmt':
      return { class: alterClass(body.objectType), command: `ALTER ${objectWord(body.objectType)} SET SCHEMA`, tags: [] };
    case 'AlterOwnerStmt':
      return { class: alterClass(body.objectType), command: `ALTER ${objectWord(body.objectType)} OWNER`, tags: ['owner'] };
    case 'VacuumStmt':
      return { class: 'admin', command: body.is_vacuumcmd === true ? 'VACUUM' : 'ANALYZE', tags: [] };
    case 'GrantStmt':
      return { class: 'dcl', command: body.is_grant === true ? 'GRANT' : 'REVOKE', tags: [] };
    case 'GrantRoleStmt':
      return { class: 'dcl', command: body.is_grant === true ? 'GRANT ROLE' : 'REVOKE ROLE', tags: [] };
    case 'CreateRoleStmt': {
      const kind = str(body.stmt_type)?.replace(/^ROLESTMT_/, '') ?? 'ROLE';
      return { class: 'dcl', command: `CREATE ${kind}`, tags: [] };
    }
  }
  return { class: 'unknown', command: type, tags: ['unrecognised-node'] };
}

function select(body: Obj, facts: StatementFacts): Verdict {
  if (facts.selectInto) return { class: 'ddl', command: 'SELECT INTO', tags: facts.dataModifying > 0 ? ['cte-write'] : [] };
  const command = list(body.valuesLists).length > 0 ? 'VALUES' : 'SELECT';
  const tags = facts.rowLock ? ['row-lock'] : [];
  if (facts.dataModifying > 0) return { class: 'write', command, tags: ['cte-write', ...tags] };
  // FOR UPDATE/SHARE (anywhere in the tree) needs UPDATE privilege and makes writers of the rows wait for the
  // locking transaction, like LOCK in a mode above ACCESS SHARE; PostgreSQL refuses it in a read-only
  // transaction. A write, then.
  if (facts.rowLock) return { class: 'write', command, tags };
  return { class: 'read', command, tags };
}

function dml(type: string, body: Obj, facts: StatementFacts): Verdict {
  const command = type.replace(/Stmt$/, '').toUpperCase();
  const tags: string[] = [];
  if (facts.dataModifying > 1) tags.push('cte-write');
  if ((type === 'UpdateStmt' || type === 'DeleteStmt') && body.whereClause === undefined) tags.push('no-where');
  if (type === 'InsertStmt' && isObj(body.onConflictClause) && body.onConflictClause.action === 'ONCONFLICT_UPDATE') tags.push('upsert');
  return { class: 'write', command, tags };
}

/** EXPLAIN plans without running; EXPLAIN ANALYZE runs the statement, so it is whatever it explains. */
function explain(body: Obj, facts: StatementFacts): Verdict {
  const inner = base(body.query, facts);
  if (explainAnalyzes(body, facts)) return { class: inner.class, command: 'EXPLAIN ANALYZE', tags: ['explain-analyze', ...inner.tags] };
  return { class: 'read', command: 'EXPLAIN', tags: inner.class === 'read' ? ['explain'] : ['explain', `explains:${inner.class}`] };
}

/** ANALYZE, ANALYZE true/on/1…: anything but a value PostgreSQL reads as false counts as analyzing. */
function explainAnalyzes(body: Obj, facts: StatementFacts): boolean {
  let analyze = false;
  for (const o of list(body.options)) {
    const def = nodeBody(o, 'DefElem');
    if (str(def?.defname)?.toLowerCase() !== 'analyze') continue;
    if (def?.arg === undefined) {
      analyze = true;
      continue;
    }
    facts.valueDependent = true; // ANALYZE 0 and ANALYZE 'off' read a literal
    analyze = !isFalse(def.arg);
  }
  return analyze;
}

/** PostgreSQL's parse_bool false spellings (unique prefixes of false/no/off, and 0). */
function isFalse(arg: unknown): boolean {
  const s = nodeBody(arg, 'String');
  if (s) return /^(f|fa|fal|fals|false|n|no|of|off|0)$/i.test(str(s.sval) ?? '');
  const i = nodeBody(arg, 'Integer');
  if (i) return (num(i.ival) ?? 0) === 0;
  const b = nodeBody(arg, 'Boolean');
  if (b) return b.boolval !== true;
  return false;
}

function copy(body: Obj, facts: StatementFacts): Verdict {
  const direction = body.is_from === true ? 'FROM' : 'TO';
  if (body.is_program === true) return { class: 'program', command: `COPY ${direction} PROGRAM`, tags: ['program'] };
  if (body.filename !== undefined) return { class: 'program', command: `COPY ${direction} FILE`, tags: ['server-file'] };
  if (body.is_from === true) return { class: 'copy-in', command: 'COPY FROM STDIN', tags: [] };
  if (body.query !== undefined) {
    const inner = base(body.query, facts);
    // COPY (DELETE … RETURNING *) TO STDOUT deletes: a bot allowed to write could do it with RETURNING anyway,
    // a bot allowed only to export must not.
    if (inner.class !== 'read') return { class: inner.class, command: 'COPY TO STDOUT', tags: ['copy-out', ...inner.tags] };
    return { class: 'copy-out', command: 'COPY TO STDOUT', tags: inner.tags };
  }
  return { class: 'copy-out', command: 'COPY TO STDOUT', tags: [] };
}

function variableSet(body: Obj, facts: StatementFacts): Verdict {
  const kind = str(body.kind);
  const name = str(body.name);
  const setting = name?.toLowerCase();
  // The verdict for these reads the value (here, or the gateway from the tree: the search path it follows,
  // the statement_timeout a policy limits): statements of the same shape may mean different things.
  if (setting !== undefined && VALUE_READ_SETTINGS.has(setting)) facts.valueDependent = true;
  const local = body.is_local === true ? 'LOCAL ' : '';
  // GUC names are case-insensitive: SET "ROLE" = … changes the role too.
  if (setting === 'role' || setting === 'session_authorization') {
    const what = setting === 'role' ? 'ROLE' : 'SESSION AUTHORIZATION';
    return { class: 'role-change', command: kind === 'VAR_RESET' ? `RESET ${what}` : `SET ${local}${what}`, tags: [] };
  }
  // This parser reads '…' with standard_conforming_strings on; a session that changes it would have the
  // server split later statements differently (SELECT 'a\', '; DROP TABLE t; --' hides a DROP when off).
  // RESET returns to the value the target was checked to run with at login.
  if (setting === LEXING_SETTING && kind !== 'VAR_RESET' && !(kind === 'VAR_SET_VALUE' && constantIs(body.args, isOn))) {
    return { class: 'unknown', command: `SET${local ? ' LOCAL' : ''}`, tags: [`setting:${setting}`, 'changes-lexing'] };
  }
  // Client encodings such as SJIS or GBK have multibyte characters whose second byte is a backslash or a
  // letter: the server would read other characters than Vigil parsed. Only UTF8 is accepted, and RESET or
  // DEFAULT (whose value Vigil does not control) are refused with the rest.
  if (setting === ENCODING_SETTING && !(kind === 'VAR_SET_VALUE' && constantIs(body.args, isUtf8Name))) {
    return { class: 'unknown', command: kind === 'VAR_RESET' ? 'RESET' : `SET${local ? ' LOCAL' : ''}`, tags: [`setting:${setting}`, 'changes-encoding'] };
  }
  if (kind === 'VAR_SET_MULTI' && name === 'TRANSACTION') return { class: 'transaction', command: 'SET TRANSACTION', tags: [] };
  if (kind === 'VAR_SET_MULTI') return { class: 'session', command: `SET ${name ?? ''}`.trim(), tags: [] };
  if (kind === 'VAR_RESET_ALL') return { class: 'session', command: 'RESET ALL', tags: [] };
  const tags = setting === undefined ? [] : [`setting:${setting}`];
  return { class: 'session', command: kind === 'VAR_RESET' ? 'RESET' : `SET${local ? ' LOCAL' : ''}`, tags };
}

function alterTable(body: Obj): Verdict {
  const tags: string[] = [];
  for (const c of list(body.cmds)) {
    const subtype = str(nodeBody(c, 'AlterTableCmd')?.subtype);
    const tag = subtype === 'AT_DropColumn' ? 'drop-column' : subtype === 'AT_ChangeOwner' ? 'owner' : undefined;
    if (tag !== undefined && !tags.includes(tag)) tags.push(tag);
  }
  return { class: 'ddl', command: `ALTER ${objectWord(body.objtype, 'TABLE')}`, tags };
}

/** What the whole tree does can only make the class stricter. */
function escalate(v: Verdict, facts: StatementFacts): Verdict {
  const tags = [...v.tags];
  let cls = v.class;
  for (const f of facts.dangerous) tags.push(`dangerous-function:${f}`);
  if (facts.changesLexing || facts.changesEncoding || facts.dynamicSetting) {
    if (facts.changesLexing) tags.push('changes-lexing');
    if (facts.changesEncoding) tags.push('changes-encoding');
    if (facts.dynamicSetting) tags.push('dynamic-setting');
    if (!FINAL.has(cls)) tags.push(`escalated-from:${cls}`);
    return { class: 'unknown', command: v.command, tags };
  }
  if (facts.roleChange) tags.push(facts.roleChange === 'literal' ? 'set-config:role' : 'set-config:dynamic');
  if (facts.roleChange && !FINAL.has(cls) && cls !== 'role-change') {
    tags.push(`escalated-from:${cls}`);
    cls = 'role-change';
  } else if (facts.dangerous.length > 0 && !FINAL.has(cls) && cls !== 'role-change' && cls !== 'procedural') {
    tags.push(`escalated-from:${cls}`);
    cls = 'procedural';
  }
  return { class: cls, command: v.command, tags };
}

/** The SET value is exactly one constant for which `test` holds. */
function constantIs(args: unknown, test: (v: string) => boolean): boolean {
  const items = list(args);
  if (items.length !== 1) return false;
  const c = nodeBody(items[0], 'A_Const');
  if (!c) return false;
  const value = isObj(c.sval) ? str(c.sval.sval) : isObj(c.ival) ? String(num(c.ival.ival) ?? 0) : isObj(c.boolval) ? String(c.boolval.boolval === true) : undefined;
  return value !== undefined && test(value);
}

/** PostgreSQL's parse_bool true spellings (unique prefixes of true/yes/on, and 1). */
function isOn(v: string): boolean {
  return /^(t|tr|tru|true|y|ye|yes|on|1)$/i.test(v.trim());
}

/** PostgreSQL compares encoding names ignoring case and anything but letters and digits; UNICODE is UTF8. */
export function isUtf8Name(v: string): boolean {
  const n = v.toLowerCase().replace(/[^a-z0-9]/g, '');
  return n === 'utf8' || n === 'unicode';
}
