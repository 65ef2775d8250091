/**
 * Cross-witnessing. Each round an appliance that is an active member
 *
 * 1. **publishes** its latest signed checkpoint to the shared store, with a consistency proof from every
 *    size its witnesses last cosigned (so each can check the new one against what it already signed);
 * 2. **witnesses** every other active member: it takes that member's latest published checkpoint, checks
 *    its signature against the member's key from the signed fleet events, and checks it is consistent with
 *    the last checkpoint of that member it cosigned (kept in its own database, never taken from the store):
 *    a smaller size is a rollback, another root at the same size or a proof that does not verify is a fork,
 *    a missing proof is unproven. Then it cosigns, or refuses and reports. A cosignature or a refusal is an
 *    entry of the witness's own transparency log (`fleet.cosigned`, `fleet.witness-refused`), so it is
 *    covered by the witness's checkpoints and travels in its bundles; the store holds a copy for the fleet.
 */
import { fromBase64, fromHex } from '../../shared/bytes.ts';
import { readCheckpoint, type Checkpoint } from '../../shared/evidence/checkpoint.ts';
import { signCosignature, statementDigest } from '../../shared/evidence/fleet.ts';
import { SIGNED_LABELS, verifyEnvelopeSignature, type SignedEnvelope, type Signer } from '../../shared/evidence/signed.ts';
import { currentKey, replayFleetEvents, type Member } from '../../shared/evidence/verify/fleet-members.ts';
import { verifyConsistency } from '../../shared/merkle/index.ts';
import type { TransparencyLog } from '../log/transparency-log.ts';
import type { Db } from '../store/database.ts';
import { isoTime } from '../time.ts';
import { indexSessions } from './session-index.ts';
import type { FleetSql } from './sql.ts';

/** What this witness last cosigned of each member, and the checkpoints it refused (reported once each). */
const WITNESS_SCHEMA = `CREATE TABLE IF NOT EXISTS fleet_witnessed (
  subject TEXT PRIMARY KEY, size INTEGER NOT NULL, root TEXT NOT NULL, time TEXT NOT NULL, checkpoint TEXT NOT NULL, cosignature TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS fleet_witness_refused (digest TEXT PRIMARY KEY, subject TEXT NOT NULL, kind TEXT NOT NULL)`;

/** How often a published checkpoint becomes the one the fleet trust file pins. */
export const PIN_EVERY_MS = 24 * 3600 * 1000;

export type RefusalKind = 'rollback' | 'fork' | 'unproven' | 'bad-signature';

export interface PublishedProof {
  fromSize: number;
  fromRoot: string;
  proof: string[];
}

export interface WitnessRound {
  published: { size: number; root: string } | undefined;
  cosigned: { subject: string; size: number }[];
  refused: { subject: string; kind: RefusalKind; reason: string }[];
  /** Members with nothing new, no checkpoint published yet, or this appliance not an active member. */
  skipped: { subject: string; why: string }[];
}

export interface WitnessLogger {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
}

interface Witnessed {
  size: number;
  root: string;
  cosignature: string;
  checkpoint: string;
}

export class FleetWitness {
  constructor(
    private readonly o: { sql: FleetSql; applianceId: string; log: TransparencyLog; db: Db; signer: () => Signer; logger: WitnessLogger; now?: () => Date },
  ) {
    o.db.exec(WITNESS_SCHEMA);
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  async round(): Promise<WitnessRound> {
    const round: WitnessRound = { published: undefined, cosigned: [], refused: [], skipped: [] };
    const replay = replayFleetEvents((await this.o.sql.query<{ envelope: SignedEnvelope }>('SELECT envelope FROM vigil_fleet_events ORDER BY seq')).rows.map((x) => x.envelope));
    if (replay.problems.length) {
      this.o.logger.error({ problems: replay.problems }, "the fleet's signed events do not replay: not witnessing");
      round.skipped.push({ subject: '*', why: `the fleet's events do not replay: ${replay.problems.join('; ')}` });
      return round;
    }
    const me = replay.members.get(this.o.applianceId);
    if (me?.status !== 'active' || currentKey(me).keyId !== this.o.signer().keyId) {
      round.skipped.push({ subject: '*', why: me ? `this appliance is ${me.status === 'active' ? 'a member under another key' : 'retired'}` : 'this appliance is not a member (vigil fleet add)' });
      return round;
    }
    round.published = await this.publish();
    for (const m of replay.members.values()) {
      if (m.applianceId === this.o.applianceId || m.status !== 'active') continue;
      await this.witness(m, round);
    }
    return round;
  }

  /** Publishes this appliance's latest checkpoint, with proofs from the sizes its witnesses last cosigned. */
  async publish(): Promise<{ size: number; root: string } | undefined> {
    const { log, sql, applianceId } = this.o;
    const cp = log.checkpoint();
    const latest = await sql.query<{ size: string; root: string }>('SELECT size, root FROM vigil_fleet_checkpoints WHERE appliance_id = $1 ORDER BY id DESC LIMIT 1', [applianceId]);
    const last = latest.rows[0];
    if (last && Number(last.size) === cp.checkpoint.size && last.root === cp.checkpoint.root) return undefined;
    const cosigned = await sql.query<{ size: string; root: string }>(
      'SELECT DISTINCT size, root FROM (SELECT DISTINCT ON (witness_id) size, root FROM vigil_fleet_cosignatures WHERE subject_id = $1 ORDER BY witness_id, size DESC) w',
      [applianceId],
    );
    const proofs: PublishedProof[] = [];
    for (const row of cosigned.rows) {
      const size = Number(row.size);
      if (size > cp.checkpoint.size || log.root(size) !== row.root) {
        // Publish anyway: the witnesses are the ones who decide, and they must see it.
        this.o.logger.error({ cosignedSize: size, logSize: cp.checkpoint.size }, 'a witness cosigned a checkpoint of this appliance that its log no longer contains (rolled back or forked?)');
        continue;
      }
      proofs.push({ fromSize: size, fromRoot: row.root, proof: log.consistencyProof(size, cp.checkpoint.size) });
    }
    // The fleet trust file pins the roster's pinned checkpoint, and every later bundle must prove consistency
    // from a pinned one (as from an export's): one a day is pinned, not every round's (a bundle carries one
    // proof per pinned checkpoint).
    const pinned = await sql.query<{ pinned_time: string | null }>('SELECT pinned_checkpoint_time AS pinned_time FROM vigil_fleet_roster WHERE appliance_id = $1', [applianceId]);
    const pinnedTime = pinned.rows[0]?.pinned_time ?? null;
    const pin = pinnedTime === null || Date.parse(cp.checkpoint.time) - Date.parse(pinnedTime) >= PIN_EVERY_MS || Date.parse(cp.checkpoint.time) < Date.parse(pinnedTime);
    if (pin) log.markExported(cp.checkpoint.size);
    await sql.tx(async (c) => {
      await c.query('INSERT INTO vigil_fleet_checkpoints (appliance_id, size, root, envelope, proofs) VALUES ($1, $2, $3, $4, $5)', [
        applianceId,
        cp.checkpoint.size,
        cp.checkpoint.root,
        JSON.stringify(cp.envelope),
        JSON.stringify(proofs),
      ]);
      await indexSessions(c, applianceId, log, cp.checkpoint.size);
      await c.query(
        `UPDATE vigil_fleet_roster SET last_checkpoint = $2, last_checkpoint_size = $3, last_checkpoint_time = $4,
         pinned_checkpoint = CASE WHEN $5 THEN $2::jsonb ELSE pinned_checkpoint END, pinned_checkpoint_time = CASE WHEN $5 THEN $4 ELSE pinned_checkpoint_time END, updated_at = now()
         WHERE appliance_id = $1`,
        [applianceId, JSON.stringify(cp.envelope), cp.checkpoint.size, cp.checkpoint.time, pin],
      );
    });
    return { size: cp.checkpoint.size, root: cp.checkpoint.root };
  }

  private async witness(m: Member, round: WitnessRound): Promise<void> {
    const subject = m.applianceId;
    const r = await this.o.sql.query<{ envelope: SignedEnvelope; proofs: PublishedProof[] }>(
      'SELECT envelope, proofs FROM vigil_fleet_checkpoints WHERE appliance_id = $1 ORDER BY id DESC LIMIT 1',
      [subject],
    );
    const row = r.rows[0];
    if (!row) return void round.skipped.push({ subject, why: 'no checkpoint published yet' });
    const env = row.envelope;
    const prev = this.o.db.prepare('SELECT size, root, cosignature, checkpoint FROM fleet_witnessed WHERE subject = ?').get(subject) as Witnessed | undefined;
    let cp: Checkpoint;
    try {
      cp = readCheckpoint(env);
    } catch (e) {
      return this.refuse(round, subject, env, prev, 'bad-signature', `not a checkpoint: ${(e as Error).message}`);
    }
    const key = currentKey(m);
    if (cp.applianceId !== subject || env.keyId !== key.keyId || cp.keyId !== key.keyId || !verifyEnvelopeSignature(SIGNED_LABELS.checkpoint, env, fromBase64(key.publicKey))) {
      return this.refuse(round, subject, env, prev, 'bad-signature', `the checkpoint is not signed by ${subject}'s fleet key ${key.keyId}`);
    }
    if (prev) {
      if (cp.size < prev.size) return this.refuse(round, subject, env, prev, 'rollback', `size ${cp.size} is smaller than the size ${prev.size} this witness cosigned: the log was rolled back`);
      if (cp.size === prev.size) {
        if (cp.root !== prev.root) return this.refuse(round, subject, env, prev, 'fork', `another root at size ${cp.size} than the one this witness cosigned: the log was forked`);
        // Already cosigned; make sure the store has it (a crash may have come between the two writes).
        await this.storeCosignature(subject, cp, prev.checkpoint, prev.cosignature);
        return void round.skipped.push({ subject, why: `size ${cp.size} already cosigned` });
      }
      const p = (row.proofs ?? []).find((x) => x.fromSize === prev.size);
      if (!p) return this.refuse(round, subject, env, prev, 'unproven', `no consistency proof from size ${prev.size} (the last this witness cosigned) to ${cp.size}`);
      if (p.fromRoot !== prev.root || !verifyConsistency(prev.size, cp.size, fromHex(prev.root), fromHex(cp.root), p.proof.map(fromHex))) {
        return this.refuse(round, subject, env, prev, 'fork', `size ${cp.size} is not consistent with size ${prev.size} this witness cosigned: the log was forked`);
      }
    }
    const cosignature = signCosignature(
      {
        witnessId: this.o.applianceId,
        subject: { applianceId: subject, size: cp.size, root: cp.root, time: cp.time, keyId: cp.keyId },
        checkpointDigest: statementDigest(env),
        from: prev ? { size: prev.size, root: prev.root } : null,
        cosignedAt: isoTime(this.now()),
      },
      this.o.signer(),
    );
    const text = JSON.stringify(cosignature);
    const cpText = JSON.stringify(env);
    this.o.db.transaction(() => {
      this.o.log.append('fleet.cosigned', { subject, size: cp.size, root: cp.root, checkpoint: env, cosignature });
      this.o.db
        .prepare('INSERT INTO fleet_witnessed (subject, size, root, time, checkpoint, cosignature) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET size = excluded.size, root = excluded.root, time = excluded.time, checkpoint = excluded.checkpoint, cosignature = excluded.cosignature')
        .run(subject, cp.size, cp.root, cp.time, cpText, text);
    })();
    await this.storeCosignature(subject, cp, cpText, text);
    round.cosigned.push({ subject, size: cp.size });
  }

  private async storeCosignature(subject: string, cp: Checkpoint, checkpoint: string, cosignature: string): Promise<void> {
    const at = (JSON.parse(JSON.parse(cosignature).signed) as { cosignedAt: string }).cosignedAt;
    await this.o.sql.query(
      'INSERT INTO vigil_fleet_cosignatures (witness_id, subject_id, size, root, checkpoint, cosignature, cosigned_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
      [this.o.applianceId, subject, cp.size, cp.root, checkpoint, cosignature, at],
    );
  }

  private async refuse(round: WitnessRound, subject: string, offered: SignedEnvelope, prev: Witnessed | undefined, kind: RefusalKind, reason: string): Promise<void> {
    round.refused.push({ subject, kind, reason });
    // A bad checkpoint is reported once (per kind), not every round.
    const digest = `${statementDigest(offered)}:${kind}`;
    if (this.o.db.prepare('SELECT 1 FROM fleet_witness_refused WHERE digest = ?').get(digest)) return;
    const cosigned = prev ? { size: prev.size, root: prev.root, checkpoint: JSON.parse(prev.checkpoint) as SignedEnvelope } : null;
    // The refusal holds both signed checkpoints: together they are the subject's own contradiction.
    this.o.db.transaction(() => {
      this.o.log.append('fleet.witness-refused', { subject, kind, reason, offered, cosigned });
      this.o.db.prepare('INSERT INTO fleet_witness_refused (digest, subject, kind) VALUES (?, ?, ?)').run(digest, subject, kind);
    })();
    this.o.logger.error({ event: 'fleet.witness-refused', subject, kind, reason }, `refused to cosign ${subject}'s checkpoint: ${reason}`);
    await this.o.sql.query('INSERT INTO vigil_fleet_refusals (witness_id, subject_id, kind, reason, offered) VALUES ($1, $2, $3, $4, $5)', [this.o.applianceId, subject, kind, reason, JSON.stringify(offered)]);
  }
}
