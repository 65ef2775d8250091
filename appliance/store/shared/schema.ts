/**
 * The shared store's tables, created by the first appliance that connects (serialised by an advisory lock,
 * so two starting at once do not race) and versioned like the SQLite schema.
 *
 * vigil_approvals: one row per approval request, owned by the appliance holding the command
 * (`appliance_id`). `record` is the request as the admin API shows it (masked free text); `status`,
 * `offered` and `expires_at` are columns so a decision can lock, check and settle the row in one
 * transaction. `offered` turns true once the owner's session archive holds the request: only then may
 * anyone decide it.
 * vigil_token_replay: single-use tokens' ids, as in SQLite (times in ms since the epoch).
 * vigil_fleet_*: the fleet roster, its signed events, published checkpoints and witness cosignatures,
 * and the session index (which appliance served which session, read from its log) (appliance/fleet, docs/fleet.md).
 */
import type pg from 'pg';
import { VigilError } from '../../../shared/errors.ts';

const MIGRATION_LOCK = 0x5649474d; // 'VIGM'

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE vigil_approvals (
     id text PRIMARY KEY,
     appliance_id text NOT NULL,
     session_id text NOT NULL,
     command_hash text NOT NULL,
     record jsonb NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
     offered boolean NOT NULL DEFAULT false,
     created_at timestamptz NOT NULL,
     expires_at timestamptz NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now());
   CREATE INDEX vigil_approvals_owner_pending ON vigil_approvals (appliance_id) WHERE status = 'pending';
   CREATE INDEX vigil_approvals_created ON vigil_approvals (created_at DESC);
   CREATE TABLE vigil_token_replay (
     issuer text NOT NULL,
     jti text NOT NULL,
     expires_at bigint NOT NULL,
     claimed_at bigint NOT NULL,
     appliance_id text NOT NULL,
     PRIMARY KEY (issuer, jti));
   CREATE INDEX vigil_token_replay_expiry ON vigil_token_replay (expires_at);`,
  // The fleet (appliance/fleet): signed membership events, the roster they give, published checkpoints
  // with consistency proofs, witness cosignatures and refusals. Times are the signed ISO strings.
  `CREATE TABLE vigil_fleet_events (
     seq bigint PRIMARY KEY,
     appliance_id text NOT NULL,
     action text NOT NULL CHECK (action IN ('added', 'retired')),
     envelope jsonb NOT NULL,
     digest text NOT NULL,
     at text NOT NULL);
   CREATE TABLE vigil_fleet_roster (
     appliance_id text PRIMARY KEY,
     key_id text NOT NULL,
     public_key text NOT NULL,
     status text NOT NULL CHECK (status IN ('active', 'retired')),
     added_at text NOT NULL,
     retired_at text,
     last_checkpoint jsonb,
     last_checkpoint_size bigint,
     last_checkpoint_time text,
     pinned_checkpoint jsonb,
     pinned_checkpoint_time text,
     indexed_to bigint NOT NULL DEFAULT 0,
     updated_at timestamptz NOT NULL DEFAULT now());
   CREATE TABLE vigil_fleet_sessions (
     appliance_id text NOT NULL,
     session_id text NOT NULL,
     seq bigint NOT NULL,
     protocol text NOT NULL,
     started_at text NOT NULL,
     log_index bigint NOT NULL,
     subject text,
     target text,
     PRIMARY KEY (appliance_id, session_id));
   CREATE INDEX vigil_fleet_sessions_started ON vigil_fleet_sessions (started_at);
   CREATE TABLE vigil_fleet_checkpoints (
     id bigserial PRIMARY KEY,
     appliance_id text NOT NULL,
     size bigint NOT NULL,
     root text NOT NULL,
     envelope jsonb NOT NULL,
     proofs jsonb NOT NULL,
     published_at timestamptz NOT NULL DEFAULT now());
   CREATE INDEX vigil_fleet_checkpoints_latest ON vigil_fleet_checkpoints (appliance_id, id DESC);
   CREATE TABLE vigil_fleet_cosignatures (
     witness_id text NOT NULL,
     subject_id text NOT NULL,
     size bigint NOT NULL,
     root text NOT NULL,
     checkpoint jsonb NOT NULL,
     cosignature jsonb NOT NULL,
     cosigned_at text NOT NULL,
     PRIMARY KEY (witness_id, subject_id, size));
   CREATE TABLE vigil_fleet_refusals (
     id bigserial PRIMARY KEY,
     witness_id text NOT NULL,
     subject_id text NOT NULL,
     kind text NOT NULL,
     reason text NOT NULL,
     offered jsonb,
     at timestamptz NOT NULL DEFAULT now());`,
];

export const SHARED_SCHEMA_VERSION = MIGRATIONS.length;

export async function migrateShared(c: pg.ClientBase): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query('CREATE TABLE IF NOT EXISTS vigil_schema (version int NOT NULL)');
    const r = await c.query<{ version: number }>('SELECT version FROM vigil_schema');
    const version = r.rows[0]?.version ?? 0;
    if (version > MIGRATIONS.length) {
      throw new VigilError('E_STORE', `the shared store's schema version ${version} is newer than this Vigil (${MIGRATIONS.length})`, { hint: 'upgrade Vigil on this appliance' });
    }
    for (let v = version; v < MIGRATIONS.length; v++) await c.query(MIGRATIONS[v]!);
    if (version === 0) await c.query('INSERT INTO vigil_schema (version) VALUES ($1)', [MIGRATIONS.length]);
    else if (version < MIGRATIONS.length) await c.query('UPDATE vigil_schema SET version = $1', [MIGRATIONS.length]);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
