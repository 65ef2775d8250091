/**
 * The appliance's SQLite database (better-sqlite3, WAL): transparency log, Merkle nodes, checkpoints,
 * the session index, keys, approvals and single-use token ids. One file under the data directory; the schema is versioned.
 */
import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { VigilError } from '../../shared/errors.ts';

export type Db = Database.Database;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE log_entries (idx INTEGER PRIMARY KEY, time TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL);
   CREATE INDEX log_entries_time ON log_entries (time);
   CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, time TEXT NOT NULL, key_id TEXT NOT NULL, envelope TEXT NOT NULL,
                             exported INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE sessions (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE,
                          state TEXT NOT NULL CHECK (state IN ('open', 'complete', 'interrupted')),
                          path TEXT NOT NULL, protocol TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
                          start_entry INTEGER NOT NULL, end_entry INTEGER, frames INTEGER, manifest_digest TEXT);
   CREATE INDEX sessions_started ON sessions (started_at);
   CREATE TABLE signing_keys (key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, created_at TEXT NOT NULL,
                              retired_at TEXT, rotation TEXT);`,
  `CREATE TABLE approvals (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, command_id INTEGER NOT NULL,
                           command_hash TEXT NOT NULL, request TEXT NOT NULL,
                           status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
                           created_at TEXT NOT NULL, expires_at TEXT NOT NULL, decided_at TEXT,
                           decisions TEXT NOT NULL DEFAULT '[]', outcome_reason TEXT);
   CREATE INDEX approvals_status ON approvals (status, created_at);`,
  // Single-use tokens (token-replay-store.ts): ids claimed, kept until the token could no longer pass (ms).
  `CREATE TABLE token_replay (issuer TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, claimed_at INTEGER NOT NULL,
                              PRIMARY KEY (issuer, jti)) WITHOUT ROWID;
   CREATE INDEX token_replay_expiry ON token_replay (expires_at);`,
  // Retention (appliance/retention): purged sessions, legal holds; shipping (appliance/shipping): what is in the bucket.
  `ALTER TABLE sessions ADD COLUMN purge_entry INTEGER;
   ALTER TABLE sessions ADD COLUMN purged_at TEXT;
   CREATE TABLE legal_holds (session_id TEXT PRIMARY KEY, reason TEXT NOT NULL, held_by TEXT NOT NULL, since TEXT NOT NULL, entry INTEGER NOT NULL);
   CREATE TABLE shipments (key TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('archive', 'checkpoint')), ref TEXT NOT NULL,
                           state TEXT NOT NULL CHECK (state IN ('pending', 'shipped', 'deleted')),
                           queued_at TEXT NOT NULL, sha256 TEXT, bytes INTEGER, retain_until TEXT, version_id TEXT,
                           attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_attempt_at TEXT, shipped_at TEXT, local_pruned_at TEXT,
                           legal_hold INTEGER NOT NULL DEFAULT 0);
   CREATE INDEX shipments_state ON shipments (state, next_attempt_at);
   CREATE INDEX shipments_ref ON shipments (kind, ref);`,
];

export interface OpenDatabaseOptions {
  readonly?: boolean;
  /**
   * Another process (the running gateway) owns this database: it must exist and already have this
   * version's schema (never migrated under a running appliance). Writes still work, serialised with the
   * owner's by SQLite's write lock.
   */
  joinRunning?: boolean;
}

export function openDatabase(path: string, opts: OpenDatabaseOptions = {}): Db {
  let db: Db;
  const mustExist = opts.readonly === true || opts.joinRunning === true;
  try {
    if (!opts.readonly) ownerOnly(path);
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: mustExist });
  } catch (e) {
    throw new VigilError('E_STORE', `cannot open the appliance database ${path}: ${(e as Error).message}`, {
      hint: 'check the path in vigil.yaml (appliance.dataDir) and that `vigil init` ran',
    });
  }
  db.pragma('busy_timeout = 5000');
  if (opts.readonly) return db;
  db.pragma('journal_mode = WAL');
  // FULL: a committed log entry survives power loss, not only a process crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  immediateTransactions(db);
  if (opts.joinRunning) {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== MIGRATIONS.length) {
      db.close();
      throw new VigilError('E_STORE', `the running appliance's database has schema version ${version}, this Vigil expects ${MIGRATIONS.length}`, {
        hint: 'run this command with the Vigil version the appliance runs, or stop the appliance first',
      });
    }
    return db;
  }
  migrate(db);
  return db;
}

/**
 * Every transaction takes the write lock when it begins (BEGIN IMMEDIATE). A second writer (`vigil export`
 * beside the running gateway) then waits its turn (busy_timeout); a deferred transaction that read first
 * would instead fail with SQLITE_BUSY_SNAPSHOT once the other writer committed in between.
 */
function immediateTransactions(db: Db): void {
  const plain = db.transaction.bind(db);
  db.transaction = ((fn: Parameters<Db['transaction']>[0]) => plain(fn).immediate) as Db['transaction'];
}

/**
 * The database holds approvals (commands with their text), the session index and token ids: owner only.
 * SQLite gives its -wal and -shm files the main file's mode, so creating that file 0600 first covers all three;
 * an existing, looser file (from an older Vigil) is tightened.
 */
function ownerOnly(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
  else if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new VigilError('E_STORE', `database schema version ${version} is newer than this Vigil (${MIGRATIONS.length})`, {
      hint: 'upgrade Vigil',
    });
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function getMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}
