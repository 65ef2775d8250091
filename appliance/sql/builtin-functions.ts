/**
 * What PostgreSQL 15's built-in functions can do, reviewed by hand: every volatile function of pg_catalog
 * (the ones a plain SELECT may call to change something), the stable/immutable ones that need special
 * treatment, and the volatile functions of every contrib extension Debian's postgresql-contrib 15 ships.
 * test/unit/appliance/sql/builtin-functions.test.ts proves the list complete against a real server: a
 * volatile built-in added by an upgrade (or a new contrib) fails it with the missing names.
 *
 * Keys are lower-case function names (PostgreSQL folds unquoted names; "RI_FKey_check_ins" is stored as
 * ri_fkey_check_ins). Overloads share an entry; where they differ in effect the entry has `byArgCount`
 * (ts_rewrite, bt_page_items). Argument positions are 0-based and carry the parameter's declared name when it
 * has one: `query_to_xml(nulls => true, tableforest => false, targetns => '', query => '…')` is legal, so a
 * caller must match named arguments too.
 *
 * The list says what the *built-in* does. It is only valid for a call that resolves to it: an unqualified
 * or pg_catalog-qualified name with no same-named function elsewhere on the target (pg_catalog is searched
 * first, but `public.random(int)` wins `random(5)` on argument types). Contrib entries (`extension`) live in
 * whatever schema the extension was created in. The target's catalog decides everything else.
 *
 * ## Categories
 *
 * | category | meaning |
 * | --- | --- |
 * | `harmless` | volatile only through time, randomness, statistics or server state; reads nothing a SELECT could not (sizes, lock lists, WAL positions, the large object a descriptor points at) |
 * | `write` | changes data that persists: sequences, large objects, WAL messages |
 * | `session` | changes this session's settings or connections (set_config is also read by the classifier for role and lexing changes) |
 * | `resource:sleep` | waits |
 * | `resource:lock` | takes or releases advisory locks (session-level ones outlive the statement and the transaction) |
 * | `resource:notify` | sends a notification to listening sessions |
 * | `admin` | backups, WAL, replication slots and origins, statistics resets, binary upgrade, index maintenance, catalog-level bulk changes, storage repair |
 * | `dangerous` | reads or writes server files, reads relation pages or WAL below SQL (bypassing privileges and row security), acts on other backends or the server process, opens connections to other servers |
 * | `runs-sql` | executes SQL text taken from an argument (`sqlArgs`); an empty `sqlArgs` means the SQL is pasted together from fragments and cannot be classified from any one argument |
 * | `reads-relation` | reads every row of the relation named by `relationArg` (a view runs its query, functions included) |
 * | `reads-schema` | reads every table and view of the schema named by `schemaArg` that the caller may SELECT |
 * | `reads-database` | the same for every schema of the current database |
 * | `cursor` | fetches from the portal named by `cursorArg`: a DECLAREd cursor, a PL/pgSQL refcursor, or an extended-protocol named portal |
 * | `internal` | triggers, handlers, validators and support functions: they fail when called directly, need an `internal` argument SQL cannot produce, or only check a definition |
 *
 * ## Verified on PostgreSQL 15.18 (Debian 15.18-0+deb12u1); the test re-checks each point
 *
 * - **query_to_xml('DELETE FROM t RETURNING 1', …) does not delete.** The xml functions, ts_stat,
 *   ts_rewrite and tablefunc's crosstab/connectby run their SQL through SPI read-only: any statement that is
 *   not a plain read fails ("DELETE is not allowed in a non-volatile function"; likewise INSERT/UPDATE/MERGE,
 *   a writable CTE, SELECT … FOR UPDATE, DDL, SET, even SHOW). **But a read that calls a volatile function runs
 *   it with full effect**: query_to_xml('SELECT f()') where f() deletes rows deletes them, and
 *   query_to_xml('SELECT nextval(''s'')') advances s. The SQL argument must be classified like a statement
 *   of its own, functions included.
 * - **query_to_xml and query_to_xml_and_xmlschema run every statement of a multi-statement text**
 *   ('SELECT f(); SELECT 1' runs f() and returns the last result). ts_stat, ts_rewrite and
 *   query_to_xmlschema accept one statement ("cannot open multi-query plan as cursor").
 * - **ts_stat('SELECT …') runs the query before checking its shape**: ts_stat('SELECT nextval(''s'')') fails
 *   with "ts_stat query must return one tsvector column" after advancing the sequence (sequences are not
 *   rolled back). ts_rewrite(tsquery, text) the same ("must return two tsquery columns").
 * - query_to_xmlschema only plans its query (opens a cursor for the row type, fetches nothing): a side
 *   effect in it does not run. Kept `runs-sql`: the planner may still evaluate functions declared immutable.
 * - **cursor_to_xml is a FETCH, and it fetches from any portal**: it advances a DECLAREd cursor (a later
 *   FETCH continues after the rows it returned), fails for an unknown name, and runs an extended-protocol
 *   portal that was Bound but never Executed: BEGIN; Parse/Bind 'DELETE FROM t WHERE id = 1 RETURNING id'
 *   into portal p1 (no Execute); SELECT cursor_to_xml('p1', …) deletes the row. Plain FETCH ALL FROM p1
 *   does the same. cursor_to_xmlschema only reads the portal's row type and runs nothing.
 * - **table_to_xml runs SELECT * FROM the table with the caller's privileges**: a role without SELECT gets
 *   "permission denied for table t". schema_to_xml and database_to_xml skip tables the caller may not SELECT,
 *   and **read views too: a view calling a volatile function runs it** (schema_to_xml is declared STABLE and
 *   still wrote through such a view). The *_xmlschema variants read only the catalog (no SELECT privilege
 *   needed, views not run).
 * - **lo_get is read-only** (needs SELECT on the large object). **But the large-object writers are not
 *   refused in a READ ONLY transaction on 15**: lo_create, lo_creat, lo_from_bytea, lo_put, lo_unlink, lowrite,
 *   lo_truncate, lo_open(…, INV_WRITE) all succeed and commit under BEGIN READ ONLY (later releases document
 *   them as refused). So do pg_import_system_collations, pg_replication_origin_create and
 *   pg_logical_emit_message. nextval/setval are refused ("cannot execute nextval() in a read-only
 *   transaction"). default_transaction_read_only is no substitute for this list.
 * - Any role may call lo_create/lo_from_bytea (creating objects it then owns) and pg_logical_emit_message
 *   (WAL, the non-transactional form survives a rollback), and pg_terminate_backend/pg_cancel_backend on other
 *   sessions of its own role.
 * - Superuser or a pg_* role by default (the ACL, `execute` below; checked by the test): the server-file
 *   functions, backups, WAL control, stat resets, replication origins, pg_reload_conf, pg_rotate_logfile,
 *   lo_import/lo_export; pg_ls_*dir need pg_monitor, pg_get_backend_memory_contexts pg_read_all_stats,
 *   pg_walinspect pg_read_server_files. Granted to PUBLIC but checked inside (`requires`): the replication
 *   slot functions (superuser or REPLICATION), pg_import_system_collations, pg_nextoid,
 *   pg_stop_making_pinned_objects, pg_read_file_old, pg_rotate_logfile_old, pageinspect (superuser),
 *   binary_upgrade_* (binary-upgrade mode only), brin_summarize_*, gin_clean_pending_list (index owner).
 * - tablefunc's connectby pastes its text arguments into SQL unquoted: connectby('t', 'nextval(''s'')::int',
 *   …) calls nextval. xml2's xpath_table does the same by design. xml2's xslt_process cannot read files
 *   (document('/etc/hostname') fails: "failed to apply stylesheet").
 * - adminpack's pg_file_write writes anywhere the server user can (an absolute /tmp path worked), as superuser.
 * - txid_current()/pg_current_xact_id() are STABLE and assign a transaction ID, also in READ ONLY.
 */

export type FunctionCategory =
  | 'harmless'
  | 'write'
  | 'session'
  | 'resource:sleep'
  | 'resource:lock'
  | 'resource:notify'
  | 'admin'
  | 'dangerous'
  | 'runs-sql'
  | 'reads-relation'
  | 'reads-schema'
  | 'reads-database'
  | 'cursor'
  | 'internal';

/** An argument: 0-based position, and the declared parameter name when there is one (named notation). */
export interface ArgRef {
  readonly position: number;
  readonly name?: string;
}

export interface FunctionEffect {
  readonly category: FunctionCategory;
  readonly reason: string;
  /** runs-sql: the arguments holding a whole SQL text that is executed. Empty: built from fragments. */
  readonly sqlArgs?: readonly ArgRef[];
  /** reads-relation: the regclass (or text) argument naming the relation read. */
  readonly relationArg?: ArgRef;
  /** reads-schema: the name argument naming the schema. */
  readonly schemaArg?: ArgRef;
  /** cursor: the refcursor argument naming the portal fetched from. */
  readonly cursorArg?: ArgRef;
}

export interface BuiltinFunction extends FunctionEffect {
  /** The contrib extension that defines it; absent for core pg_catalog functions. */
  readonly extension?: string;
  /** Volatility of its most volatile overload. */
  readonly volatility: 'v' | 's' | 'i';
  /**
   * Who holds EXECUTE on a fresh install when PUBLIC does not (on no overload): the pg_* roles granted it,
   * [] for superuser only. Absent: PUBLIC may execute some overload.
   */
  readonly execute?: readonly string[];
  /** A privilege the function checks itself, beyond EXECUTE. */
  readonly requires?: string;
  /** Overloads whose effect differs, by number of arguments. */
  readonly byArgCount?: Readonly<Record<number, FunctionEffect>>;
}

type Group = Omit<BuiltinFunction, 'volatility'> & { readonly volatility?: 'v' | 's' | 'i'; readonly names: readonly string[] };

const SUPERUSER: readonly string[] = [];
const arg = (position: number, name?: string): ArgRef => (name === undefined ? { position } : { position, name });

const GROUPS: readonly Group[] = [
  // ---------------------------------------------------------------- harmless (core)
  {
    category: 'harmless',
    reason: 'volatile because of the clock or the random generator',
    names: ['clock_timestamp', 'timeofday', 'random', 'setseed', 'gen_random_uuid'],
  },
  {
    category: 'harmless',
    reason: "reads a sequence's state without advancing it (USAGE or SELECT on the sequence)",
    names: ['currval', 'lastval', 'pg_sequence_last_value'],
  },
  {
    category: 'harmless',
    reason: 'on-disk size of a database, tablespace or relation (CONNECT/CREATE privilege or pg_read_all_stats for other databases and tablespaces)',
    names: ['pg_database_size', 'pg_tablespace_size', 'pg_relation_size', 'pg_table_size', 'pg_indexes_size', 'pg_total_relation_size'],
  },
  {
    category: 'harmless',
    reason: "statistics of the current transaction, or control of this backend's statistics snapshot",
    names: [
      'pg_stat_get_xact_blocks_fetched',
      'pg_stat_get_xact_blocks_hit',
      'pg_stat_get_xact_function_calls',
      'pg_stat_get_xact_function_self_time',
      'pg_stat_get_xact_function_total_time',
      'pg_stat_get_xact_numscans',
      'pg_stat_get_xact_tuples_deleted',
      'pg_stat_get_xact_tuples_fetched',
      'pg_stat_get_xact_tuples_hot_updated',
      'pg_stat_get_xact_tuples_inserted',
      'pg_stat_get_xact_tuples_returned',
      'pg_stat_get_xact_tuples_updated',
      'pg_stat_clear_snapshot',
      'pg_stat_force_next_flush',
      'pg_stat_get_recovery_prefetch',
    ],
  },
  {
    category: 'harmless',
    reason: 'whether statistics exist for an object',
    execute: SUPERUSER,
    names: ['pg_stat_have_stats'],
  },
  {
    category: 'harmless',
    reason: 'lock, transaction and notification-queue state; the text of the current query',
    names: [
      'pg_blocking_pids',
      'pg_safe_snapshot_blocking_pids',
      'pg_isolation_test_session_is_blocked',
      'pg_lock_status',
      'pg_get_multixact_members',
      'pg_prepared_xact',
      'pg_notification_queue_usage',
      'pg_last_committed_xact',
      'pg_xact_commit_timestamp',
      'pg_xact_commit_timestamp_origin',
      'pg_xact_status',
      'txid_status',
      'current_query',
    ],
  },
  {
    category: 'harmless',
    reason: 'saves the transaction snapshot for other sessions to import (SET TRANSACTION SNAPSHOT); changes no data',
    names: ['pg_export_snapshot'],
  },
  {
    category: 'harmless',
    reason: 'WAL position, recovery state and control-file fields (reconnaissance at most: system identifier, next OID)',
    names: [
      'pg_is_in_recovery',
      'pg_is_wal_replay_paused',
      'pg_get_wal_replay_pause_state',
      'pg_get_wal_resource_managers',
      'pg_last_wal_receive_lsn',
      'pg_last_wal_replay_lsn',
      'pg_last_xact_replay_timestamp',
      'pg_current_wal_lsn',
      'pg_current_wal_insert_lsn',
      'pg_current_wal_flush_lsn',
      'pg_control_checkpoint',
      'pg_control_init',
      'pg_control_recovery',
      'pg_control_system',
      'pg_jit_available',
    ],
  },
  {
    category: 'harmless',
    reason: 'catalog reads: collation versions from the C library, partition trees',
    names: ['pg_collation_actual_version', 'pg_database_collation_actual_version', 'pg_partition_tree', 'pg_partition_ancestors'],
  },
  {
    category: 'harmless',
    reason: "the newest version's TID of a row (for ODBC); checks SELECT on the relation, returns no column values",
    names: ['currtid2'],
  },
  {
    category: 'harmless',
    reason: 'memory contexts of this backend, shared memory allocations',
    execute: ['pg_read_all_stats'],
    names: ['pg_get_backend_memory_contexts', 'pg_get_shmem_allocations'],
  },
  {
    category: 'harmless',
    reason: 'reads a large object (SELECT on it), or moves within / closes a descriptor that lo_open returned',
    names: ['lo_get', 'loread', 'lo_close', 'lo_lseek', 'lo_lseek64', 'lo_tell', 'lo_tell64'],
  },
  {
    category: 'harmless',
    volatility: 's',
    reason: 'STABLE, yet assigns a transaction ID to the transaction (also in READ ONLY); changes no data',
    names: ['txid_current', 'pg_current_xact_id'],
  },
  {
    category: 'harmless',
    volatility: 's',
    reason: 'describes the columns of a relation, a schema or the database from the catalog; reads no rows, runs no view (no SELECT privilege needed)',
    names: ['table_to_xmlschema', 'schema_to_xmlschema', 'database_to_xmlschema'],
  },
  {
    category: 'harmless',
    reason: "describes a portal's row type; fetches nothing, so an unexecuted portal stays unexecuted",
    names: ['cursor_to_xmlschema'],
  },

  // ---------------------------------------------------------------- write
  {
    category: 'write',
    reason: 'advances or sets a sequence (never rolled back; UPDATE or USAGE on the sequence; refused in READ ONLY)',
    names: ['nextval', 'setval'],
  },
  {
    category: 'write',
    reason:
      'creates, writes, truncates or deletes a large object: any role may create one, writing needs UPDATE, unlinking ownership; NOT refused in a READ ONLY transaction on 15. lo_open is a write only with INV_WRITE (0x20000) in its mode, a read with INV_READ (0x40000) alone',
    names: ['lo_create', 'lo_creat', 'lo_from_bytea', 'lo_put', 'lo_unlink', 'lowrite', 'lo_truncate', 'lo_truncate64', 'lo_open'],
  },
  {
    category: 'write',
    reason: 'writes a message into the WAL for logical decoding; any role, also in READ ONLY; the non-transactional form survives a rollback',
    names: ['pg_logical_emit_message'],
  },

  // ---------------------------------------------------------------- session
  {
    category: 'session',
    reason: 'sets a configuration parameter; the classifier separately treats role, session_authorization and standard_conforming_strings',
    names: ['set_config'],
  },

  // ---------------------------------------------------------------- resource
  { category: 'resource:sleep', reason: 'sleeps, holding its locks and connection', names: ['pg_sleep', 'pg_sleep_for', 'pg_sleep_until'] },
  {
    category: 'resource:lock',
    reason: 'advisory locks: session-level ones outlive the statement and the transaction, all may block other sessions',
    names: [
      'pg_advisory_lock',
      'pg_advisory_lock_shared',
      'pg_advisory_unlock',
      'pg_advisory_unlock_shared',
      'pg_advisory_unlock_all',
      'pg_advisory_xact_lock',
      'pg_advisory_xact_lock_shared',
      'pg_try_advisory_lock',
      'pg_try_advisory_lock_shared',
      'pg_try_advisory_xact_lock',
      'pg_try_advisory_xact_lock_shared',
    ],
  },
  { category: 'resource:notify', reason: 'NOTIFY to every listening session of the database (at commit)', names: ['pg_notify'] },

  // ---------------------------------------------------------------- admin (core)
  {
    category: 'admin',
    reason: 'pg_upgrade internals: set the next OIDs, create empty extensions, set catalog values',
    requires: 'binary-upgrade mode (checked inside; fails otherwise)',
    names: [
      'binary_upgrade_create_empty_extension',
      'binary_upgrade_set_missing_value',
      'binary_upgrade_set_next_array_pg_type_oid',
      'binary_upgrade_set_next_heap_pg_class_oid',
      'binary_upgrade_set_next_heap_relfilenode',
      'binary_upgrade_set_next_index_pg_class_oid',
      'binary_upgrade_set_next_index_relfilenode',
      'binary_upgrade_set_next_multirange_array_pg_type_oid',
      'binary_upgrade_set_next_multirange_pg_type_oid',
      'binary_upgrade_set_next_pg_authid_oid',
      'binary_upgrade_set_next_pg_enum_oid',
      'binary_upgrade_set_next_pg_tablespace_oid',
      'binary_upgrade_set_next_pg_type_oid',
      'binary_upgrade_set_next_toast_pg_class_oid',
      'binary_upgrade_set_next_toast_relfilenode',
      'binary_upgrade_set_record_init_privs',
    ],
  },
  {
    category: 'admin',
    reason: 'index maintenance: summarize or desummarize BRIN ranges, flush a GIN pending list',
    requires: 'owner of the index (checked inside)',
    names: ['brin_summarize_new_values', 'brin_summarize_range', 'brin_desummarize_range', 'gin_clean_pending_list'],
  },
  {
    category: 'admin',
    reason: 'backups and WAL control: start/stop a backup, switch WAL, create a restore point, promote a standby, pause/resume replay',
    execute: SUPERUSER,
    names: ['pg_backup_start', 'pg_backup_stop', 'pg_switch_wal', 'pg_create_restore_point', 'pg_promote', 'pg_wal_replay_pause', 'pg_wal_replay_resume'],
  },
  {
    category: 'admin',
    reason:
      'replication slots: create, copy, drop, advance, and consume or peek at logical changes (the decoded rows of every table, whatever the table privileges)',
    requires: 'superuser or the REPLICATION attribute (checked inside)',
    names: [
      'pg_create_physical_replication_slot',
      'pg_create_logical_replication_slot',
      'pg_copy_physical_replication_slot',
      'pg_copy_logical_replication_slot',
      'pg_drop_replication_slot',
      'pg_replication_slot_advance',
      'pg_logical_slot_get_changes',
      'pg_logical_slot_get_binary_changes',
      'pg_logical_slot_peek_changes',
      'pg_logical_slot_peek_binary_changes',
    ],
  },
  {
    category: 'admin',
    reason: "replication origins: create, drop, advance, set up this session's origin (how its commits replicate), and their status",
    execute: SUPERUSER,
    names: [
      'pg_replication_origin_create',
      'pg_replication_origin_drop',
      'pg_replication_origin_advance',
      'pg_replication_origin_progress',
      'pg_replication_origin_session_setup',
      'pg_replication_origin_session_reset',
      'pg_replication_origin_session_is_setup',
      'pg_replication_origin_session_progress',
      'pg_replication_origin_xact_setup',
      'pg_replication_origin_xact_reset',
      'pg_show_replication_origin_status',
    ],
  },
  {
    category: 'admin',
    reason: 'resets cumulative statistics (hides activity from monitoring)',
    execute: SUPERUSER,
    names: [
      'pg_stat_reset',
      'pg_stat_reset_shared',
      'pg_stat_reset_single_table_counters',
      'pg_stat_reset_single_function_counters',
      'pg_stat_reset_slru',
      'pg_stat_reset_replication_slot',
      'pg_stat_reset_subscription_stats',
    ],
  },
  {
    category: 'admin',
    reason: 'adds the operating system collations to a schema (writes pg_collation; not refused in READ ONLY)',
    requires: 'superuser (checked inside)',
    names: ['pg_import_system_collations'],
  },
  {
    category: 'admin',
    reason: 'initdb/pg_upgrade internals: consume an OID for a catalog, stop pinning new objects',
    requires: 'superuser (checked inside)',
    names: ['pg_nextoid', 'pg_stop_making_pinned_objects'],
  },

  // ---------------------------------------------------------------- dangerous (core)
  {
    category: 'dangerous',
    reason: 'reads a server file or its metadata',
    execute: SUPERUSER,
    names: ['pg_read_file', 'pg_read_binary_file', 'pg_stat_file', 'pg_ls_dir', 'pg_current_logfile'],
  },
  {
    category: 'dangerous',
    reason: 'adminpack 1.0 compatibility forms of pg_read_file and pg_rotate_logfile',
    requires: 'superuser (checked inside)',
    names: ['pg_read_file_old', 'pg_rotate_logfile_old'],
  },
  {
    category: 'dangerous',
    reason: 'lists a server directory (logs, WAL, archive status, temporary files, logical decoding and slot state)',
    execute: ['pg_monitor'],
    names: ['pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_archive_statusdir', 'pg_ls_tmpdir', 'pg_ls_logicalmapdir', 'pg_ls_logicalsnapdir', 'pg_ls_replslotdir'],
  },
  {
    category: 'dangerous',
    reason: 'reads the server configuration files (pg_hba.conf, pg_ident.conf, postgresql.conf and its includes)',
    execute: SUPERUSER,
    names: ['pg_hba_file_rules', 'pg_ident_file_mappings', 'pg_show_all_file_settings'],
  },
  {
    category: 'dangerous',
    reason: "moves a large object between a server file and the database (pg_read_server_files/pg_write_server_files with a grant)",
    execute: SUPERUSER,
    names: ['lo_import', 'lo_export'],
  },
  {
    category: 'dangerous',
    reason: 'signals another backend: cancel, terminate (any session of a role the caller is a member of, or any with pg_signal_backend)',
    names: ['pg_cancel_backend', 'pg_terminate_backend'],
  },
  {
    category: 'dangerous',
    reason: "acts on the server process or another backend: reload the configuration, rotate the log, make a backend log its memory",
    execute: SUPERUSER,
    names: ['pg_reload_conf', 'pg_rotate_logfile', 'pg_log_backend_memory_contexts'],
  },

  // ---------------------------------------------------------------- runs-sql / reads-* / cursor (core)
  {
    category: 'runs-sql',
    reason:
      'runs its SQL text through read-only SPI: a DML/DDL/utility statement is refused, a read calling a volatile function runs it. query_to_xml and query_to_xml_and_xmlschema run every statement of a multi-statement text; query_to_xmlschema takes one and only plans it',
    sqlArgs: [arg(0, 'query')],
    names: ['query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema'],
  },
  {
    category: 'runs-sql',
    reason: 'runs one SQL statement (read-only SPI) returning a tsvector column, before checking that it does',
    sqlArgs: [arg(0, 'query')],
    names: ['ts_stat'],
  },
  {
    category: 'runs-sql',
    reason: 'ts_rewrite(query tsquery, select text) runs one SQL statement (read-only SPI) returning the rewrite pairs, before checking its shape',
    sqlArgs: [arg(1)],
    byArgCount: {
      3: { category: 'harmless', reason: 'ts_rewrite(query, target, substitute): IMMUTABLE, rewrites the tsquery, runs no SQL' },
    },
    names: ['ts_rewrite'],
  },
  {
    category: 'reads-relation',
    volatility: 's',
    reason: 'runs SELECT * FROM the relation with the caller\'s privileges (STABLE, but a view runs its query, volatile functions included)',
    relationArg: arg(0, 'tbl'),
    names: ['table_to_xml', 'table_to_xml_and_xmlschema'],
  },
  {
    category: 'reads-schema',
    volatility: 's',
    reason: 'reads every table, view and materialized view of the schema the caller may SELECT (views run their queries)',
    schemaArg: arg(0, 'schema'),
    names: ['schema_to_xml', 'schema_to_xml_and_xmlschema'],
  },
  {
    category: 'reads-database',
    volatility: 's',
    reason: 'reads every table, view and materialized view of the current database the caller may SELECT (views run their queries)',
    names: ['database_to_xml', 'database_to_xml_and_xmlschema'],
  },
  {
    category: 'cursor',
    reason:
      'FETCH count rows from the named portal: a DECLAREd cursor, a refcursor, or an extended-protocol portal Bound but not yet Executed (which then runs, DML included)',
    cursorArg: arg(0, 'cursor'),
    names: ['cursor_to_xml'],
  },

  // ---------------------------------------------------------------- internal (core)
  {
    category: 'internal',
    reason: 'trigger functions: "trigger functions can only be called as triggers"',
    names: [
      'ri_fkey_cascade_del',
      'ri_fkey_cascade_upd',
      'ri_fkey_check_ins',
      'ri_fkey_check_upd',
      'ri_fkey_noaction_del',
      'ri_fkey_noaction_upd',
      'ri_fkey_restrict_del',
      'ri_fkey_restrict_upd',
      'ri_fkey_setdefault_del',
      'ri_fkey_setdefault_upd',
      'ri_fkey_setnull_del',
      'ri_fkey_setnull_upd',
      'suppress_redundant_updates_trigger',
      'tsvector_update_trigger',
      'tsvector_update_trigger_column',
      'unique_key_recheck',
    ],
  },
  {
    category: 'internal',
    reason: 'access-method, table-AM, tablesample, text-search-template and language handlers: take or return `internal`, which SQL cannot supply',
    names: [
      'brinhandler',
      'bthandler',
      'ginhandler',
      'gisthandler',
      'hashhandler',
      'spghandler',
      'heap_tableam_handler',
      'bernoulli',
      'system',
      'dsnowball_init',
      'dsnowball_lexize',
      'plpgsql_call_handler',
      'plpgsql_inline_handler',
    ],
  },
  {
    category: 'internal',
    reason: 'validators: check an operator class or compile a PL/pgSQL function body, execute nothing',
    names: ['amvalidate', 'plpgsql_validator'],
  },
  {
    category: 'internal',
    reason: 'marks an extension configuration table; fails outside a CREATE EXTENSION script',
    names: ['pg_extension_config_dump'],
  },

  // ================================================================ contrib extensions
  {
    category: 'dangerous',
    extension: 'adminpack',
    reason: 'adminpack (installs into pg_catalog): writes, renames, deletes or fsyncs a server file, any path the server user can reach',
    execute: SUPERUSER,
    names: ['pg_file_write', 'pg_file_unlink', 'pg_file_sync'],
  },
  {
    category: 'dangerous',
    extension: 'adminpack',
    reason: 'adminpack: renames a server file (the 2-argument form is a PUBLIC SQL wrapper of the superuser-only 3-argument one)',
    names: ['pg_file_rename'],
  },
  {
    category: 'dangerous',
    extension: 'adminpack',
    reason: 'adminpack: lists the log directory',
    execute: SUPERUSER,
    names: ['pg_logdir_ls'],
  },
  {
    category: 'dangerous',
    extension: 'dblink',
    reason: 'dblink: opens, uses or closes connections to other servers and runs SQL there (dblink_connect_u without password checks)',
    names: [
      'dblink',
      'dblink_connect',
      'dblink_disconnect',
      'dblink_exec',
      'dblink_open',
      'dblink_fetch',
      'dblink_close',
      'dblink_send_query',
      'dblink_get_result',
      'dblink_is_busy',
      'dblink_cancel_query',
      'dblink_error_message',
      'dblink_get_notify',
    ],
  },
  {
    category: 'dangerous',
    extension: 'dblink',
    reason: 'dblink: connects without the password checks of dblink_connect',
    execute: SUPERUSER,
    names: ['dblink_connect_u'],
  },
  {
    category: 'reads-relation',
    extension: 'dblink',
    reason: 'dblink: reads the row of the local relation whose primary key is given and returns INSERT/UPDATE/DELETE text for it (no connection)',
    relationArg: arg(0),
    names: ['dblink_build_sql_insert', 'dblink_build_sql_update', 'dblink_build_sql_delete'],
  },
  {
    category: 'harmless',
    extension: 'dblink',
    reason: "dblink: the current query's text, this session's connection names, a relation's primary key columns",
    names: ['dblink_current_query', 'dblink_get_connections', 'dblink_get_pkey'],
  },
  {
    category: 'internal',
    extension: 'dblink',
    reason: 'dblink: foreign-data-wrapper option validator',
    names: ['dblink_fdw_validator'],
  },
  {
    category: 'internal',
    extension: 'lo',
    reason: 'lo: trigger function (when fired, unlinks the large objects a row stops referencing)',
    names: ['lo_manage'],
  },
  {
    category: 'internal',
    extension: 'autoinc',
    reason: 'autoinc: trigger function (sets a column from a sequence when fired)',
    names: ['autoinc'],
  },
  {
    category: 'internal',
    extension: 'insert_username',
    reason: 'insert_username: trigger function (stores the current user name when fired)',
    names: ['insert_username'],
  },
  {
    category: 'internal',
    extension: 'moddatetime',
    reason: 'moddatetime: trigger function (stores the current time when fired)',
    names: ['moddatetime'],
  },
  {
    category: 'internal',
    extension: 'refint',
    reason: 'refint: trigger functions (check or cascade references when fired)',
    names: ['check_foreign_key', 'check_primary_key'],
  },
  {
    category: 'internal',
    extension: 'tcn',
    reason: 'tcn: trigger function (NOTIFYs the change when fired)',
    names: ['triggered_change_notification'],
  },
  {
    category: 'internal',
    extension: 'bloom',
    reason: 'bloom: index access-method handler',
    names: ['blhandler'],
  },
  {
    category: 'internal',
    extension: 'dict_int',
    reason: 'dict_int: text-search dictionary support',
    names: ['dintdict_init', 'dintdict_lexize'],
  },
  {
    category: 'internal',
    extension: 'dict_xsyn',
    reason: 'dict_xsyn: text-search dictionary support',
    names: ['dxsyn_init', 'dxsyn_lexize'],
  },
  {
    category: 'internal',
    extension: 'unaccent',
    reason: 'unaccent: text-search dictionary support',
    names: ['unaccent_init', 'unaccent_lexize'],
  },
  {
    category: 'internal',
    extension: 'tsm_system_rows',
    reason: 'tsm_system_rows: tablesample method handler',
    names: ['system_rows'],
  },
  {
    category: 'internal',
    extension: 'tsm_system_time',
    reason: 'tsm_system_time: tablesample method handler',
    names: ['system_time'],
  },
  {
    category: 'internal',
    extension: 'file_fdw',
    reason: 'file_fdw: foreign-data-wrapper handler and option validator',
    names: ['file_fdw_handler', 'file_fdw_validator'],
  },
  {
    category: 'internal',
    extension: 'postgres_fdw',
    reason: 'postgres_fdw: foreign-data-wrapper handler and option validator',
    names: ['postgres_fdw_handler', 'postgres_fdw_validator'],
  },
  {
    category: 'internal',
    extension: 'intagg',
    reason: 'intagg: aggregate support functions (take or return internal)',
    names: ['int_agg_state', 'int_agg_final_array'],
  },
  {
    category: 'admin',
    extension: 'amcheck',
    reason: 'amcheck: verifies index or heap structure reading every page (bt_index_parent_check takes a lock that blocks writers)',
    execute: SUPERUSER,
    names: ['bt_index_check', 'bt_index_parent_check', 'verify_heapam'],
  },
  {
    category: 'admin',
    extension: 'pg_surgery',
    reason: 'pg_surgery: kills or freezes tuples by TID, bypassing MVCC (destroys rows, can corrupt)',
    execute: SUPERUSER,
    names: ['heap_force_kill', 'heap_force_freeze'],
  },
  {
    category: 'admin',
    extension: 'pg_prewarm',
    reason: 'pg_prewarm: loads a relation into the buffer cache (SELECT on it), dumps the buffer list to a file, starts the autoprewarm worker',
    names: ['pg_prewarm', 'autoprewarm_dump_now', 'autoprewarm_start_worker'],
  },
  {
    category: 'admin',
    extension: 'pg_stat_statements',
    reason: 'pg_stat_statements: discards collected statement statistics',
    execute: SUPERUSER,
    names: ['pg_stat_statements_reset'],
  },
  {
    category: 'admin',
    extension: 'pg_visibility',
    reason: 'pg_visibility: truncates a relation\'s visibility map',
    execute: SUPERUSER,
    names: ['pg_truncate_visibility_map'],
  },
  {
    category: 'dangerous',
    extension: 'pageinspect',
    reason:
      'pageinspect: reads relation or index pages directly, dead and invisible tuples included, bypassing row security and column privileges',
    requires: 'superuser (checked inside)',
    names: ['get_raw_page', 'bt_metap', 'bt_page_stats', 'hash_bitmap_info'],
  },
  {
    category: 'dangerous',
    extension: 'pageinspect',
    reason: 'pageinspect: bt_page_items(relname text, blkno bigint) reads a B-tree page directly, dead entries included',
    requires: 'superuser (checked inside)',
    byArgCount: {
      1: { category: 'harmless', reason: "bt_page_items(page bytea): decodes a page given as bytea; the read was get_raw_page's" },
    },
    names: ['bt_page_items'],
  },
  {
    category: 'harmless',
    extension: 'pageinspect',
    reason: 'pageinspect: decodes a page passed as bytea (the read is get_raw_page\'s) or infomask bits',
    requires: 'superuser (checked inside)',
    names: [
      'page_header',
      'page_checksum',
      'heap_page_items',
      'heap_page_item_attrs',
      'heap_tuple_infomask_flags',
      'tuple_data_split',
      'fsm_page_contents',
      'brin_page_type',
      'brin_metapage_info',
      'brin_revmap_data',
      'brin_page_items',
      'gin_metapage_info',
      'gin_page_opaque_info',
      'gin_leafpage_items',
      'gist_page_opaque_info',
      'gist_page_items',
      'gist_page_items_bytea',
      'hash_page_type',
      'hash_page_stats',
      'hash_page_items',
      'hash_metapage_info',
    ],
  },
  {
    category: 'dangerous',
    extension: 'pg_walinspect',
    reason: 'pg_walinspect: reads WAL files (record descriptions of every table\'s changes)',
    execute: ['pg_read_server_files'],
    names: [
      'pg_get_wal_record_info',
      'pg_get_wal_records_info',
      'pg_get_wal_records_info_till_end_of_wal',
      'pg_get_wal_stats',
      'pg_get_wal_stats_till_end_of_wal',
    ],
  },
  {
    category: 'harmless',
    extension: 'pg_buffercache',
    reason: 'pg_buffercache: which relation blocks are in shared buffers (no row contents)',
    execute: ['pg_monitor'],
    names: ['pg_buffercache_pages'],
  },
  {
    category: 'harmless',
    extension: 'pg_freespacemap',
    reason: 'pg_freespacemap: free space per block',
    execute: ['pg_stat_scan_tables'],
    names: ['pg_freespace'],
  },
  {
    category: 'harmless',
    extension: 'pg_visibility',
    reason: 'pg_visibility: visibility-map bits and the TIDs that contradict them (no row contents)',
    execute: ['pg_stat_scan_tables'],
    names: ['pg_visibility', 'pg_visibility_map', 'pg_visibility_map_summary', 'pg_check_frozen', 'pg_check_visible'],
  },
  {
    category: 'harmless',
    extension: 'pgstattuple',
    reason: 'pgstattuple: tuple and page counts from a full scan (no row contents)',
    execute: ['pg_stat_scan_tables'],
    names: ['pgstattuple', 'pgstattuple_approx', 'pgstatindex', 'pgstatginindex', 'pgstathashindex', 'pg_relpages'],
  },
  {
    category: 'harmless',
    extension: 'pgrowlocks',
    reason: 'pgrowlocks: TIDs, lockers and modes of locked rows from a full scan (SELECT on the table; no row contents)',
    names: ['pgrowlocks'],
  },
  {
    category: 'harmless',
    extension: 'pg_stat_statements',
    reason: 'pg_stat_statements: normalized statement texts and statistics (other roles\' texts need pg_read_all_stats)',
    names: ['pg_stat_statements', 'pg_stat_statements_info'],
  },
  {
    category: 'harmless',
    extension: 'old_snapshot',
    reason: 'old_snapshot: the old_snapshot_threshold time map',
    names: ['pg_old_snapshot_time_mapping'],
  },
  {
    category: 'harmless',
    extension: 'pgcrypto',
    reason: 'pgcrypto: random bytes, salts, and PGP encryption with random session keys (gen_random_uuid is the core entry)',
    names: ['gen_random_bytes', 'gen_salt', 'pgp_sym_encrypt', 'pgp_sym_encrypt_bytea', 'pgp_pub_encrypt', 'pgp_pub_encrypt_bytea'],
  },
  {
    category: 'harmless',
    extension: 'uuid-ossp',
    reason: 'uuid-ossp: random or time-based UUIDs',
    names: ['uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4'],
  },
  {
    category: 'harmless',
    extension: 'sslinfo',
    reason: "sslinfo: this connection's TLS parameters and client certificate",
    names: [
      'ssl_is_used',
      'ssl_version',
      'ssl_cipher',
      'ssl_client_cert_present',
      'ssl_client_serial',
      'ssl_client_dn',
      'ssl_client_dn_field',
      'ssl_issuer_dn',
      'ssl_issuer_field',
      'ssl_extension_info',
    ],
  },
  {
    category: 'harmless',
    extension: 'tablefunc',
    reason: 'tablefunc: normally distributed random numbers',
    names: ['normal_rand'],
  },
  {
    category: 'harmless',
    extension: 'xml2',
    reason: 'xml2: XSLT transformation; libxslt file and network access is forbidden (document() of a server file fails)',
    names: ['xslt_process'],
  },
  {
    category: 'session',
    extension: 'pg_trgm',
    reason: 'pg_trgm: sets pg_trgm.similarity_threshold for the session',
    names: ['set_limit'],
  },
  {
    category: 'session',
    extension: 'postgres_fdw',
    reason: "postgres_fdw: closes this session's cached connections to foreign servers",
    names: ['postgres_fdw_disconnect', 'postgres_fdw_disconnect_all'],
  },
  {
    category: 'harmless',
    extension: 'postgres_fdw',
    reason: "postgres_fdw: lists this session's cached connections",
    names: ['postgres_fdw_get_connections'],
  },
  {
    category: 'runs-sql',
    extension: 'tablefunc',
    volatility: 's',
    reason:
      'tablefunc: STABLE, runs its source SQL (read-only SPI; a side-effect function in it runs). crosstab(source, categories) runs both texts; in crosstab(text, integer) argument 1 is a column count, not SQL',
    sqlArgs: [arg(0), arg(1)],
    names: ['crosstab'],
  },
  {
    category: 'runs-sql',
    extension: 'tablefunc',
    volatility: 's',
    reason: 'tablefunc: STABLE, runs its source SQL (read-only SPI; a side-effect function in it runs)',
    sqlArgs: [arg(0)],
    names: ['crosstab2', 'crosstab3', 'crosstab4'],
  },
  {
    category: 'runs-sql',
    extension: 'tablefunc',
    volatility: 's',
    reason: 'tablefunc: STABLE, pastes its relation and column-name arguments into SQL unquoted (an expression there runs: connectby(\'t\', \'nextval(...)\', …))',
    sqlArgs: [],
    names: ['connectby'],
  },
  {
    category: 'runs-sql',
    extension: 'xml2',
    volatility: 's',
    reason: 'xml2: STABLE, builds SELECT key, document FROM relation WHERE criteria from its arguments, unquoted',
    sqlArgs: [],
    names: ['xpath_table'],
  },
];

function build(groups: readonly Group[]): ReadonlyMap<string, BuiltinFunction> {
  const map = new Map<string, BuiltinFunction>();
  for (const { names, volatility, ...rest } of groups) {
    for (const name of names) {
      if (name !== name.toLowerCase() || map.has(name)) throw new Error(`builtin-functions: bad or duplicate name ${name}`);
      map.set(name, Object.freeze({ ...rest, volatility: volatility ?? 'v' }));
    }
  }
  return map;
}

/** Lower-case function name → what it does. */
export const BUILTIN_FUNCTIONS: ReadonlyMap<string, BuiltinFunction> = build(GROUPS);

/**
 * The reviewed effect of a built-in called as `name` (any case, last name part) with `argCount` arguments,
 * or undefined when it is not on the list. Without argCount, an overloaded name gives its default entry,
 * the stricter one.
 */
export function builtinFunction(name: string, argCount?: number): BuiltinFunction | undefined {
  const entry = BUILTIN_FUNCTIONS.get(name.toLowerCase());
  const overload = argCount === undefined ? undefined : entry?.byArgCount?.[argCount];
  return overload && entry ? { ...entry, ...overload } : entry;
}
