/**
 * Witness cosignatures checked offline: each must be by a key that was the witness's fleet key when it
 * cosigned (per the fleet trust file's events; an unknown, retired or replaced key is refused, never
 * counted), over a checkpoint the subject's fleet key signed; then against the subject's log as its bundle
 * proves it. A cosigned (size, root) the bundle's log contradicts is a fork; a bundle whose checkpoint,
 * signed later, is smaller than a cosigned one is a rollback. What the bundle cannot prove either way (a
 * size before its first entry, a state after its checkpoint) is unknown, never a pass.
 */
import { describeError } from '../../errors.ts';
import { readCheckpoint, type Checkpoint } from '../checkpoint.ts';
import { readCosignature, statementDigest, type CosignedCheckpoint } from '../fleet.ts';
import { SIGNED_LABELS, verifyEnvelopeSignature, type SignedEnvelope } from '../signed.ts';
import { compareTimes } from '../time-order.ts';
import { memberKeyAt, type Member } from './fleet-members.ts';

/** What a verified bundle proves of one appliance's log. */
export interface LogView {
  applianceId: string;
  checkpoint: Checkpoint;
  /** The log's root at `size` if the bundle proves it, else undefined. */
  rootAt(size: number): string | undefined;
}

export type CosignatureStatus = 'pass' | 'fail' | 'unknown' | 'refused';

export interface CosignatureResult {
  witnessId: string | null;
  subjectId: string | null;
  size: number | null;
  cosignedAt: string | null;
  status: CosignatureStatus;
  detail: string;
}

/** A witness's refusal (`fleet.witness-refused` in its log): the subject's two checkpoints it saw. */
export interface WitnessRefusal {
  witnessId: string;
  subject: string;
  kind: string;
  reason: string;
  offered: SignedEnvelope;
  cosigned: { checkpoint: SignedEnvelope } | null;
}

function signedBySubject(members: ReadonlyMap<string, Member>, env: SignedEnvelope): { ok: true; cp: Checkpoint } | { ok: false; reason: string } {
  let cp: Checkpoint;
  try {
    cp = readCheckpoint(env);
  } catch (e) {
    return { ok: false, reason: describeError(e) };
  }
  if (cp.keyId !== env.keyId) return { ok: false, reason: `the checkpoint names key ${cp.keyId} but key ${env.keyId} signed it` };
  const key = memberKeyAt(members, cp.applianceId, env.keyId, cp.time);
  if (!key.ok) return { ok: false, reason: `checkpoint of ${cp.applianceId}: ${key.reason}` };
  if (!verifyEnvelopeSignature(SIGNED_LABELS.checkpoint, env, key.publicKey)) return { ok: false, reason: `checkpoint of ${cp.applianceId}: signature does not verify` };
  return { ok: true, cp };
}

export function checkCosignature(members: ReadonlyMap<string, Member>, item: CosignedCheckpoint, views: ReadonlyMap<string, LogView>): CosignatureResult {
  const res: CosignatureResult = { witnessId: null, subjectId: null, size: null, cosignedAt: null, status: 'refused', detail: '' };
  const refuse = (detail: string) => ({ ...res, status: 'refused' as const, detail });
  let c;
  try {
    c = readCosignature(item.cosignature);
  } catch (e) {
    return refuse(describeError(e));
  }
  Object.assign(res, { witnessId: c.witnessId, subjectId: c.subject.applianceId, size: c.subject.size, cosignedAt: c.cosignedAt });
  if (c.witnessId === c.subject.applianceId) return refuse('an appliance cannot witness its own log');
  const wkey = memberKeyAt(members, c.witnessId, item.cosignature.keyId, c.cosignedAt);
  if (!wkey.ok) return refuse(`witness ${wkey.reason}`);
  if (!verifyEnvelopeSignature(SIGNED_LABELS.witnessCosignature, item.cosignature, wkey.publicKey)) return refuse('the cosignature does not verify');
  if (statementDigest(item.checkpoint) !== c.checkpointDigest) return refuse('the checkpoint beside the cosignature is not the one it covers');
  const s = signedBySubject(members, item.checkpoint);
  if (!s.ok) return refuse(s.reason);
  const cp = s.cp;
  if (cp.applianceId !== c.subject.applianceId || cp.size !== c.subject.size || cp.root !== c.subject.root) return refuse('the cosignature and the checkpoint disagree');
  const view = views.get(cp.applianceId);
  if (!view) return { ...res, status: 'unknown', detail: `no verified bundle of ${cp.applianceId} to check it against` };
  if (cp.size > view.checkpoint.size) {
    if (compareTimes(view.checkpoint.time, cp.time) > 0) {
      return { ...res, status: 'fail', detail: `rollback: ${cp.applianceId} signed size ${cp.size} at ${cp.time} (cosigned by ${c.witnessId}), then a smaller log (size ${view.checkpoint.size}) at ${view.checkpoint.time}` };
    }
    return { ...res, status: 'unknown', detail: `cosigns size ${cp.size}, beyond the bundle's checkpoint (${view.checkpoint.size})` };
  }
  const root = view.rootAt(cp.size);
  if (root === undefined) return { ...res, status: 'unknown', detail: `the bundle cannot prove ${cp.applianceId}'s root at size ${cp.size} (before its first entry; no proof from it)` };
  if (root !== cp.root) return { ...res, status: 'fail', detail: `fork: ${c.witnessId} cosigned ${cp.applianceId}'s root ${cp.root.slice(0, 16)}… at size ${cp.size}; the bundle's log has ${root.slice(0, 16)}…` };
  return { ...res, status: 'pass', detail: `consistent with ${cp.applianceId}'s bundle (size ${cp.size} of ${view.checkpoint.size})` };
}

/**
 * A refusal proves misbehaviour only when both checkpoints it holds are the subject's, signed, and
 * contradict each other (same size and another root, or a later, smaller one): then 'fail'. Otherwise it
 * is reported as what the witness said, 'unknown' (a missing proof is not a fork).
 */
export function checkRefusal(members: ReadonlyMap<string, Member>, r: WitnessRefusal): CosignatureResult {
  const base = { witnessId: r.witnessId, subjectId: r.subject, size: null, cosignedAt: null };
  const offered = signedBySubject(members, r.offered);
  const earlier = r.cosigned ? signedBySubject(members, r.cosigned.checkpoint) : undefined;
  if (offered.ok && earlier?.ok && offered.cp.applianceId === r.subject && earlier.cp.applianceId === r.subject) {
    const [a, b] = [earlier.cp, offered.cp];
    if (a.size === b.size && a.root !== b.root) return { ...base, size: b.size, status: 'fail', detail: `fork proven by ${r.witnessId}: ${r.subject} signed two roots at size ${b.size}` };
    if (b.size < a.size && compareTimes(b.time, a.time) > 0) {
      return { ...base, size: b.size, status: 'fail', detail: `rollback proven by ${r.witnessId}: ${r.subject} signed size ${a.size} at ${a.time}, then size ${b.size} at ${b.time}` };
    }
  }
  return { ...base, status: 'unknown', detail: `${r.witnessId} refused to cosign ${r.subject} (${r.kind}): ${r.reason}` };
}
