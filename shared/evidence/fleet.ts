/**
 * A fleet's signed statements (docs/fleet.md, docs/evidence-format.md §fleet):
 *
 * - a **fleet event** adds an appliance (signed by the joining appliance's own key: proof it holds it) or
 *   retires one (signed by an active member, itself or a peer). Events are numbered from 1 and each names
 *   the digest of the one before, so a dropped, reordered or rewritten event breaks the chain;
 * - a **witness cosignature**: appliance W states "I saw appliance S's checkpoint (size, root), and checked
 *   it is consistent with the last one of S I cosigned" — as transparency-log witnesses do;
 * - the **fleet trust file** an auditor pins: every appliance, its keys with validity windows, its latest
 *   checkpoint seen by the fleet, and the events those windows come from.
 */
import { z } from 'zod';
import { utf8 } from '../bytes.ts';
import { sha256Hex } from '../crypto/hash.ts';
import { checkpointSchema } from './checkpoint.ts';
import { hex32Schema, isoTimeSchema, keyIdSchema, publicKeySchema } from './schemas.ts';
import { SIGNED_LABELS, parseJson, parseSigned, parseWith, signStatement, signedEnvelopeSchema, type SignedEnvelope, type Signer } from './signed.ts';
import { trustedKeySchema } from './trust.ts';

const applianceIdSchema = z.string().min(1).max(64);

export const fleetEventSchema = z.object({
  format: z.literal('vigil-fleet-event'),
  version: z.literal(1),
  seq: z.number().int().positive(),
  /** sha256 (hex) of the previous event's signed text; null for event 1. */
  previous: hex32Schema.nullable(),
  action: z.enum(['added', 'retired']),
  /** The appliance added or retired. */
  applianceId: applianceIdSchema,
  /** Its key: the key added (added), or its key at retirement (retired). */
  keyId: keyIdSchema,
  publicKey: publicKeySchema,
  /** When the added key was made (it signed the appliance's evidence from then on); null for retired. */
  keyCreatedAt: isoTimeSchema.nullable(),
  at: isoTimeSchema,
  /** Who signed: the added appliance itself, or the active member that retired it. */
  by: applianceIdSchema,
  reason: z.string().max(1000).nullable(),
  /**
   * Re-adding an active appliance under a new key (after `vigil keys rotate`): the rotation statements from
   * its key in the roster to the new one, each signed by the outgoing key.
   */
  rotations: z.array(signedEnvelopeSchema).max(100).optional(),
});
export type FleetEvent = z.infer<typeof fleetEventSchema>;

export function signFleetEvent(e: Omit<FleetEvent, 'format' | 'version'>, signer: Signer): SignedEnvelope {
  return signStatement(SIGNED_LABELS.fleetEvent, { format: 'vigil-fleet-event', version: 1, ...e }, signer);
}

export function readFleetEvent(env: SignedEnvelope): FleetEvent {
  return parseSigned(env, fleetEventSchema, 'fleet event');
}

/** What the next event's `previous` names: the digest of exactly the signed text. */
export function statementDigest(env: SignedEnvelope): string {
  return sha256Hex(utf8(env.signed));
}

export const cosignatureSchema = z.object({
  format: z.literal('vigil-witness-cosignature'),
  version: z.literal(1),
  witnessId: applianceIdSchema,
  subject: z.object({ applianceId: applianceIdSchema, size: z.number().int().nonnegative(), root: hex32Schema, time: isoTimeSchema, keyId: keyIdSchema }),
  /** sha256 of the subject's checkpoint envelope's signed text: the cosignature is over that exact statement. */
  checkpointDigest: hex32Schema,
  /** The last checkpoint of the subject this witness had cosigned, which it proved this one consistent with. */
  from: z.object({ size: z.number().int().nonnegative(), root: hex32Schema }).nullable(),
  cosignedAt: isoTimeSchema,
});
export type Cosignature = z.infer<typeof cosignatureSchema>;

/** A cosignature travels with the checkpoint it covers (in the witness's `fleet.cosigned` log entry). */
export const cosignedCheckpointSchema = z.object({ checkpoint: signedEnvelopeSchema, cosignature: signedEnvelopeSchema });
export type CosignedCheckpoint = z.infer<typeof cosignedCheckpointSchema>;

export function signCosignature(c: Omit<Cosignature, 'format' | 'version'>, witness: Signer): SignedEnvelope {
  return signStatement(SIGNED_LABELS.witnessCosignature, { format: 'vigil-witness-cosignature', version: 1, ...c }, witness);
}

export function readCosignature(env: SignedEnvelope): Cosignature {
  return parseSigned(env, cosignatureSchema, 'witness cosignature');
}

export const fleetApplianceSchema = z.object({
  applianceId: applianceIdSchema,
  status: z.enum(['active', 'retired']),
  /** Its keys as fleet members: from the event that added each to the event that replaced or retired it. */
  keys: z.array(trustedKeySchema).min(1).max(100),
  /** Its latest checkpoint the fleet had seen when the file was made (null: it never published one). */
  checkpoint: signedEnvelopeSchema.nullable(),
});
export type FleetAppliance = z.infer<typeof fleetApplianceSchema>;

export const fleetTrustFileSchema = z.object({
  format: z.literal('vigil-fleet-trust'),
  version: z.literal(1),
  createdAt: isoTimeSchema,
  appliances: z.array(fleetApplianceSchema).min(1).max(1000),
  /** Every fleet event, seq 1 first. */
  events: z.array(signedEnvelopeSchema).min(1).max(100_000),
});
export type FleetTrustFile = z.infer<typeof fleetTrustFileSchema>;

export function parseFleetTrustFile(text: string): FleetTrustFile {
  const f = parseWith(fleetTrustFileSchema, parseJson(text, 'fleet trust file'), 'fleet trust file');
  for (const a of f.appliances) if (a.checkpoint) parseSigned(a.checkpoint, checkpointSchema, `fleet trust file: ${a.applianceId}'s checkpoint`);
  for (const e of f.events) readFleetEvent(e);
  return f;
}
