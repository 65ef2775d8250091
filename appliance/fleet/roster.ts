/**
 * The fleet roster in the shared store: which appliances are members, with which key, and their latest
 * published checkpoint. Membership changes only by a signed fleet event (added: signed by the joining
 * appliance's own key; retired: by an active member), numbered and chained to the one before, replayed
 * (shared/evidence/verify/fleet-members.ts) before a new one is accepted, and logged in the signer's own
 * transparency log in the same step. The events table is the record; the roster table is what they give.
 */
import { toBase64 } from '../../shared/bytes.ts';
import { signFleetEvent, statementDigest, type FleetAppliance, type FleetTrustFile } from '../../shared/evidence/fleet.ts';
import { fingerprint } from '../../shared/evidence/key-id.ts';
import type { SignedEnvelope } from '../../shared/evidence/signed.ts';
import { applyEvent, currentKey, replayFleetEvents, type Member, type Replay } from '../../shared/evidence/verify/fleet-members.ts';
import { fromBase64 } from '../../shared/bytes.ts';
import type { KeyRecord } from '../keys/key-ring.ts';
import type { SigningKey } from '../keys/signing-key.ts';
import type { TransparencyLog } from '../log/transparency-log.ts';
import { isoTime } from '../time.ts';
import { FleetError, type FleetSql } from './sql.ts';

/** Serialises membership changes across the fleet (a transaction-level advisory lock). */
const EVENTS_LOCK = 0x5649474e; // 'VIGN'

export interface RosterRow {
  applianceId: string;
  keyId: string;
  status: 'active' | 'retired';
  addedAt: string;
  retiredAt: string | null;
  lastCheckpointSize: number | null;
  lastCheckpointTime: string | null;
  /** Latest cosignature of its checkpoints, per witness. */
  cosignedBy: { witnessId: string; size: number; at: string }[];
}

export interface Signed {
  envelope: SignedEnvelope;
  seq: number;
}

export class FleetRoster {
  constructor(private readonly sql: FleetSql) {}

  async events(): Promise<SignedEnvelope[]> {
    const r = await this.sql.query<{ envelope: SignedEnvelope }>('SELECT envelope FROM vigil_fleet_events ORDER BY seq');
    return r.rows.map((x) => x.envelope);
  }

  /** The members as the signed events give them (a broken chain is an error: nothing is decided on it). */
  async members(): Promise<Map<string, Member>> {
    const r = replayFleetEvents(await this.events());
    if (r.problems.length) throw brokenChain(r);
    return r.members;
  }

  /**
   * Adds the appliance (or, after a key rotation, records its new key with the rotations that lead to it).
   * `keys` are the appliance's key records (for those rotations); signed by its current key.
   */
  add(o: { applianceId: string; signer: SigningKey; keys: readonly KeyRecord[]; log: TransparencyLog; now?: Date }): Promise<Signed> {
    return this.change(o.log, o.now, (r, at) => {
      const m = r.members.get(o.applianceId);
      const rotations = m?.status === 'active' ? rotationsSince(o.keys, currentKey(m).keyId) : undefined;
      return {
        fields: { action: 'added', applianceId: o.applianceId, keyId: o.signer.keyId, publicKey: toBase64(o.signer.publicKey), keyCreatedAt: o.signer.createdAt, at, by: o.applianceId, reason: null, ...(rotations?.length ? { rotations } : {}) },
        signer: o.signer,
      };
    });
  }

  /** Retires `applianceId` (this appliance, or a peer that is gone), signed by the active member `by`. */
  retire(o: { applianceId: string; by: string; signer: SigningKey; reason: string; log: TransparencyLog; now?: Date }): Promise<Signed> {
    return this.change(o.log, o.now, (r, at) => {
      const m = r.members.get(o.applianceId);
      if (!m) throw new FleetError('E_FLEET_NOT_MEMBER', `${o.applianceId} is not a member of the fleet`, { hint: 'vigil fleet list shows the members' });
      return { fields: { action: 'retired', applianceId: o.applianceId, keyId: currentKey(m).keyId, publicKey: currentKey(m).publicKey, keyCreatedAt: null, at, by: o.by, reason: o.reason }, signer: o.signer };
    });
  }

  /**
   * One membership change: under the fleet-wide lock, replay the chain, sign the next event, check it with
   * the same rules a verifier applies, store it and the roster row, and log it in the signer's log before
   * the store commits (a failed local append rolls the store back).
   */
  private change(
    log: TransparencyLog,
    now: Date | undefined,
    make: (r: Replay, at: string) => { fields: Omit<Parameters<typeof signFleetEvent>[0], 'seq' | 'previous'>; signer: SigningKey },
  ): Promise<Signed> {
    return this.sql.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [EVENTS_LOCK]);
      const rows = await c.query<{ envelope: SignedEnvelope }>('SELECT envelope FROM vigil_fleet_events ORDER BY seq');
      const r = replayFleetEvents(rows.rows.map((x) => x.envelope));
      if (r.problems.length) throw brokenChain(r);
      let at = isoTime(now ?? new Date());
      if (r.lastAt !== null && at < r.lastAt) at = r.lastAt; // the chain's clock never runs backwards
      const { fields, signer } = make(r, at);
      const seq = r.applied + 1;
      const envelope = signFleetEvent({ ...fields, seq, previous: r.head }, signer);
      const problem = applyEvent(r, envelope);
      if (problem) throw new FleetError('E_FLEET_EVENT', `refused: ${problem}`);
      await c.query('INSERT INTO vigil_fleet_events (seq, appliance_id, action, envelope, digest, at) VALUES ($1, $2, $3, $4, $5, $6)', [
        seq,
        fields.applianceId,
        fields.action,
        JSON.stringify(envelope),
        statementDigest(envelope),
        at,
      ]);
      const m = r.members.get(fields.applianceId)!;
      await c.query(
        `INSERT INTO vigil_fleet_roster (appliance_id, key_id, public_key, status, added_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (appliance_id) DO UPDATE SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, status = EXCLUDED.status, retired_at = EXCLUDED.retired_at, updated_at = now()`,
        [m.applianceId, currentKey(m).keyId, currentKey(m).publicKey, m.status, m.addedAt, m.retiredAt],
      );
      log.append('fleet.changed', { seq, action: fields.action, applianceId: fields.applianceId, event: envelope });
      return { envelope, seq };
    });
  }

  async list(): Promise<RosterRow[]> {
    const r = await this.sql.query<{
      appliance_id: string;
      key_id: string;
      status: 'active' | 'retired';
      added_at: string;
      retired_at: string | null;
      last_checkpoint_size: string | null;
      last_checkpoint_time: string | null;
    }>('SELECT appliance_id, key_id, status, added_at, retired_at, last_checkpoint_size, last_checkpoint_time FROM vigil_fleet_roster ORDER BY added_at, appliance_id');
    const cos = await this.sql.query<{ witness_id: string; subject_id: string; size: string; cosigned_at: string }>(
      'SELECT DISTINCT ON (witness_id, subject_id) witness_id, subject_id, size, cosigned_at FROM vigil_fleet_cosignatures ORDER BY witness_id, subject_id, size DESC',
    );
    return r.rows.map((x) => ({
      applianceId: x.appliance_id,
      keyId: x.key_id,
      status: x.status,
      addedAt: x.added_at,
      retiredAt: x.retired_at,
      lastCheckpointSize: x.last_checkpoint_size === null ? null : Number(x.last_checkpoint_size),
      lastCheckpointTime: x.last_checkpoint_time,
      cosignedBy: cos.rows.filter((c) => c.subject_id === x.appliance_id).map((c) => ({ witnessId: c.witness_id, size: Number(c.size), at: c.cosigned_at })),
    }));
  }

  /** The fleet trust file: every member's keys and windows from the events, its latest published checkpoint. */
  async trustFile(now = new Date()): Promise<FleetTrustFile> {
    const events = await this.events();
    const r = replayFleetEvents(events);
    if (r.problems.length) throw brokenChain(r);
    if (!events.length) throw new FleetError('E_FLEET_EMPTY', 'the fleet has no members yet', { hint: 'run `vigil fleet add --config DIR/vigil.yaml` on each appliance' });
    // The pinned checkpoint (one a day, marked in the appliance's log so its bundles prove consistency from it), not the latest.
    const cps = await this.sql.query<{ appliance_id: string; pinned_checkpoint: SignedEnvelope | null }>('SELECT appliance_id, pinned_checkpoint FROM vigil_fleet_roster');
    const checkpoint = new Map(cps.rows.map((x) => [x.appliance_id, x.pinned_checkpoint]));
    const appliances: FleetAppliance[] = [...r.members.values()].map((m) => ({
      applianceId: m.applianceId,
      status: m.status,
      keys: m.keys.map((k) => ({ keyId: k.keyId, algorithm: 'ed25519' as const, publicKey: k.publicKey, fingerprint: fingerprint(fromBase64(k.publicKey)), validFrom: k.validFrom, validUntil: k.validUntil })),
      checkpoint: checkpoint.get(m.applianceId) ?? null,
    }));
    return { format: 'vigil-fleet-trust', version: 1, createdAt: isoTime(now), appliances, events };
  }
}

function brokenChain(r: Replay): FleetError {
  return new FleetError('E_FLEET_CHAIN', `the fleet's signed events do not replay: ${r.problems.join('; ')}`, {
    hint: 'the events table of the shared store was altered; compare it with the fleet.changed entries of the appliances\' logs (docs/fleet.md)',
  });
}

/** The rotation statements from `fromKeyId` to the current key, oldest first. */
function rotationsSince(keys: readonly KeyRecord[], fromKeyId: string): SignedEnvelope[] {
  const i = keys.findIndex((k) => k.keyId === fromKeyId);
  return i < 0 ? [] : keys.slice(i + 1).flatMap((k) => (k.rotation ? [k.rotation] : []));
}
