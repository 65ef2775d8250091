/**
 * Who was a member of the fleet, with which key, when: replayed from the signed fleet events, the one
 * procedure the roster (before it records an event) and the verifier (from the fleet trust file) share.
 * An event that breaks a rule is not applied and is reported; nothing after a broken chain is believed.
 */
import { fromBase64 } from '../../bytes.ts';
import { describeError } from '../../errors.ts';
import { readFleetEvent, statementDigest, type FleetEvent, type FleetTrustFile } from '../fleet.ts';
import { keyIdOf } from '../key-id.ts';
import { readKeyRotation } from '../key-rotation.ts';
import { SIGNED_LABELS, verifyEnvelopeSignature, type SignedEnvelope } from '../signed.ts';
import { compareTimes } from '../time-order.ts';

export interface MemberKey {
  keyId: string;
  publicKey: string;
  /** When the key was made (it signs the appliance's own evidence from then on). */
  createdAt: string;
  /** Its window as a fleet key (cosignatures): from the event that added it. */
  validFrom: string;
  /** null while it is the member's current key. */
  validUntil: string | null;
  revoked?: boolean;
}

export interface Member {
  applianceId: string;
  status: 'active' | 'retired';
  keys: MemberKey[];
  addedAt: string;
  retiredAt: string | null;
}

export interface Replay {
  members: Map<string, Member>;
  problems: string[];
  /** Events applied (the chain up to the first break). */
  applied: number;
  /** Digest of the last applied event (what the next one's `previous` must be), null before event 1. */
  head: string | null;
  lastAt: string | null;
}

export type KeyCheck = { ok: true; publicKey: Uint8Array } | { ok: false; reason: string };

export function currentKey(m: Member): MemberKey {
  return m.keys[m.keys.length - 1]!;
}

/** Replays events in order; stops believing at the first event that breaks the chain. */
export function replayFleetEvents(envs: readonly SignedEnvelope[]): Replay {
  const r: Replay = { members: new Map(), problems: [], applied: 0, head: null, lastAt: null };
  for (const env of envs) {
    const problem = applyEvent(r, env);
    if (problem) {
      r.problems.push(problem);
      break;
    }
  }
  return r;
}

/** Applies one event (returns why not, leaving `r` unchanged, when it breaks a rule). */
export function applyEvent(r: Replay, env: SignedEnvelope): string | undefined {
  let e: FleetEvent;
  try {
    e = readFleetEvent(env);
  } catch (err) {
    return `fleet event ${r.applied + 1}: ${describeError(err)}`;
  }
  const what = `fleet event ${e.seq} (${e.action} ${e.applianceId})`;
  if (e.seq !== r.applied + 1) return `${what}: expected event ${r.applied + 1} (an event is missing or out of order)`;
  if (e.previous !== r.head) return `${what}: does not follow event ${r.applied} (previous digest differs: the chain was altered)`;
  if (r.lastAt !== null && compareTimes(e.at, r.lastAt) < 0) return `${what}: dated ${e.at}, before the event it follows (${r.lastAt})`;
  if (keyIdOf(fromBase64(e.publicKey)) !== e.keyId) return `${what}: key id ${e.keyId} does not match its public key`;
  const m = r.members.get(e.applianceId);
  if (e.action === 'added') {
    if (e.by !== e.applianceId || env.keyId !== e.keyId) return `${what}: must be signed by the added appliance's own key ${e.keyId}`;
    if (!verifyEnvelopeSignature(SIGNED_LABELS.fleetEvent, env, fromBase64(e.publicKey))) return `${what}: signature does not verify`;
    if (m?.status === 'retired') return `${what}: a retired appliance cannot rejoin (give the new one its own appliance id)`;
    if (m && currentKey(m).keyId === e.keyId) return `${what}: already a member with key ${e.keyId}`;
    if (e.keyCreatedAt === null || compareTimes(e.keyCreatedAt, e.at) > 0) return `${what}: the added key must say when it was made, not after the event`;
    if (m) {
      const chain = rotationChain(e, currentKey(m));
      if (chain) return `${what}: ${chain}`;
      currentKey(m).validUntil = e.at;
      m.keys.push({ keyId: e.keyId, publicKey: e.publicKey, createdAt: e.keyCreatedAt, validFrom: e.at, validUntil: null });
    } else {
      r.members.set(e.applianceId, { applianceId: e.applianceId, status: 'active', keys: [{ keyId: e.keyId, publicKey: e.publicKey, createdAt: e.keyCreatedAt, validFrom: e.at, validUntil: null }], addedAt: e.at, retiredAt: null });
    }
  } else {
    const signer = r.members.get(e.by);
    if (!signer || signer.status !== 'active') return `${what}: signed by ${e.by}, not an active member`;
    if (env.keyId !== currentKey(signer).keyId) return `${what}: signed by key ${env.keyId}, not ${e.by}'s current key ${currentKey(signer).keyId}`;
    if (!verifyEnvelopeSignature(SIGNED_LABELS.fleetEvent, env, fromBase64(currentKey(signer).publicKey))) return `${what}: signature does not verify`;
    if (!m || m.status !== 'active') return `${what}: not an active member`;
    if (currentKey(m).keyId !== e.keyId) return `${what}: names key ${e.keyId}, the member's key is ${currentKey(m).keyId}`;
    currentKey(m).validUntil = e.at;
    m.status = 'retired';
    m.retiredAt = e.at;
  }
  r.applied = e.seq;
  r.head = statementDigest(env);
  r.lastAt = e.at;
  return undefined;
}

/** A re-add under a new key must carry the rotations from the member's key to it, each signed by the outgoing key. */
function rotationChain(e: FleetEvent, from: MemberKey): string | undefined {
  let cur = { keyId: from.keyId, publicKey: fromBase64(from.publicKey) };
  for (const env of e.rotations ?? []) {
    let rot;
    try {
      rot = readKeyRotation(env);
    } catch (err) {
      return describeError(err);
    }
    if (rot.applianceId !== e.applianceId || rot.previousKeyId !== cur.keyId || env.keyId !== cur.keyId) return `rotation to ${rot.newKeyId} does not follow key ${cur.keyId}`;
    if (!verifyEnvelopeSignature(SIGNED_LABELS.keyRotation, env, cur.publicKey)) return `rotation to ${rot.newKeyId}: signature does not verify`;
    const pk = fromBase64(rot.newPublicKey);
    if (keyIdOf(pk) !== rot.newKeyId) return `rotation to ${rot.newKeyId}: key id does not match its public key`;
    cur = { keyId: rot.newKeyId, publicKey: pk };
  }
  return cur.keyId === e.keyId ? undefined : `a new key for a member needs the key rotations from ${from.keyId} to ${e.keyId} (vigil keys rotate logs them)`;
}

/** Whether `keyId` was `applianceId`'s fleet key at time `at`. */
export function memberKeyAt(members: ReadonlyMap<string, Member>, applianceId: string, keyId: string, at: string): KeyCheck {
  const m = members.get(applianceId);
  if (!m) return { ok: false, reason: `${applianceId} is not a member of the fleet (unknown appliance)` };
  const k = m.keys.find((x) => x.keyId === keyId);
  if (!k) return { ok: false, reason: `key ${keyId} is not a fleet key of ${applianceId} (unknown key)` };
  if (k.revoked) return { ok: false, reason: `key ${keyId} of ${applianceId} is revoked in the fleet trust file` };
  if (compareTimes(at, k.validFrom) < 0) return { ok: false, reason: `key ${keyId} of ${applianceId} signed at ${at}, before it joined the fleet (${k.validFrom})` };
  if (k.validUntil !== null && compareTimes(at, k.validUntil) >= 0) {
    return { ok: false, reason: `key ${keyId} of ${applianceId} signed at ${at}, after its window closed (${k.validUntil}: ${m.status === 'retired' ? 'retired' : 'replaced'})` };
  }
  return { ok: true, publicKey: fromBase64(k.publicKey) };
}

/**
 * The members of a fleet trust file: replayed from its events, compared with what it lists (a listed
 * window the events do not give is a problem; the events win). `revoked` set by an auditor is honoured.
 */
export function fleetMembers(trust: FleetTrustFile): Replay {
  const r = replayFleetEvents(trust.events);
  if (r.applied !== trust.events.length) r.problems.push(`fleet trust file: only ${r.applied} of ${trust.events.length} events could be applied`);
  for (const a of trust.appliances) {
    const m = r.members.get(a.applianceId);
    if (!m) {
      r.problems.push(`fleet trust file lists ${a.applianceId}, which no fleet event adds`);
      continue;
    }
    if (m.status !== a.status) r.problems.push(`fleet trust file lists ${a.applianceId} as ${a.status}; its events make it ${m.status}`);
    for (const k of a.keys) {
      const d = m.keys.find((x) => x.keyId === k.keyId);
      if (!d || d.publicKey !== k.publicKey || d.validFrom !== k.validFrom || d.validUntil !== k.validUntil) {
        r.problems.push(`fleet trust file: ${a.applianceId}'s key ${k.keyId} and its window differ from its events`);
      } else if (k.revoked) d.revoked = true;
    }
  }
  for (const id of r.members.keys()) if (!trust.appliances.some((a) => a.applianceId === id)) r.problems.push(`fleet trust file omits ${id}, which its events add`);
  return r;
}
