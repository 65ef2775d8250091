/**
 * Verifies a fleet's evidence offline against a pinned fleet trust file: the fleet's signed events (who
 * was a member, with which key, when), each appliance's bundle as `vigil verify` does (its keys and pinned
 * checkpoint taken from the fleet trust file), then every witness cosignature and refusal the bundles'
 * logs hold, against the other bundles. An appliance is a pass only when its bundle passes and at least one
 * valid cosignature of its log was checked against it; no bundle, no checkable cosignature: unknown or
 * partial, never a pass.
 */
import { describeError } from '../../errors.ts';
import type { ByteSource } from '../byte-source.ts';
import type { FleetSessions } from '../fleet-sessions.ts';
import { compareTimes } from '../time-order.ts';
import { readCosignature, type FleetTrustFile } from '../fleet.ts';
import type { TrustFile } from '../trust.ts';
import { fromBase64 } from '../../bytes.ts';
import { fingerprint } from '../key-id.ts';
import type { SignedEnvelope } from '../signed.ts';
import { checkCosignature, checkRefusal, type CosignatureResult, type LogView } from './fleet-cosignatures.ts';
import { bundleFleetFacts } from './fleet-log-view.ts';
import { fleetMembers, type Member } from './fleet-members.ts';
import type { VerificationReport } from './report.ts';
import { verifyBundle, type BundleVerifyOptions } from './verify-bundle.ts';

export type FleetStatus = 'pass' | 'fail' | 'partial' | 'unknown';

export interface FleetApplianceReport {
  applianceId: string;
  membership: 'active' | 'retired' | 'not a member';
  /** The bundle given for it (its name), or null. */
  bundle: string | null;
  status: FleetStatus;
  details: string[];
  bundleVerdict: string | null;
  cosignatures: Record<'pass' | 'fail' | 'unknown' | 'refused', number>;
  report?: VerificationReport;
}

/** One session of the fleet: which appliance served it, what its bundle says of it. */
export interface FleetSession {
  applianceId: string;
  sessionId: string;
  startedAt: string | null;
  /** The bundle's status for it; 'missing' when the index names it in its appliance's bundle window and the bundle lacks it; 'unknown' when no bundle covers it. */
  status: string;
  /** Listed in the fleet's session index given to the verifier. */
  indexed: boolean;
}

export interface FleetVerificationReport {
  ok: boolean;
  status: FleetStatus;
  sessions: FleetSession[];
  trust: { appliances: number; events: number; problems: string[] };
  appliances: FleetApplianceReport[];
  cosignatures: CosignatureResult[];
  refusals: CosignatureResult[];
}

export interface FleetBundle {
  name: string;
  src: ByteSource;
}

/**
 * The per-appliance trust file a bundle is verified against: its keys (from the fleet events, never from
 * what the file lists) valid since they were made, until retirement; pinned to the fleet's copy of its
 * checkpoint, or — when the fleet has none — to the bundle's own (`pinnedHere`: no rollback can be ruled out).
 */
function applianceTrust(trust: FleetTrustFile, m: Member, own: SignedEnvelope): { trust: TrustFile; pinnedHere: boolean } {
  const pinned = trust.appliances.find((x) => x.applianceId === m.applianceId)?.checkpoint ?? null;
  return {
    trust: {
      format: 'vigil-trust',
      version: 1,
      applianceId: m.applianceId,
      createdAt: trust.createdAt,
      keys: m.keys.map((k) => ({
        keyId: k.keyId,
        algorithm: 'ed25519' as const,
        publicKey: k.publicKey,
        fingerprint: fingerprint(fromBase64(k.publicKey)),
        validFrom: k.createdAt,
        validUntil: k.validUntil,
        ...(k.revoked ? { revoked: true } : {}),
      })),
      checkpoint: pinned ?? own,
    },
    pinnedHere: pinned === null,
  };
}

export async function verifyFleet(trust: FleetTrustFile, bundles: readonly FleetBundle[], opts: BundleVerifyOptions & { sessions?: FleetSessions } = {}): Promise<FleetVerificationReport> {
  const replay = fleetMembers(trust);
  const members = replay.members;
  const out: FleetVerificationReport = {
    ok: false,
    status: 'unknown',
    trust: { appliances: trust.appliances.length, events: trust.events.length, problems: replay.problems },
    appliances: [],
    cosignatures: [],
    refusals: [],
    sessions: [],
  };
  const views = new Map<string, LogView>();
  const byId = new Map<string, FleetApplianceReport>();
  const entry = (id: string): FleetApplianceReport => {
    let r = byId.get(id);
    if (!r) {
      const m = members.get(id);
      r = { applianceId: id, membership: m ? m.status : 'not a member', bundle: null, status: 'unknown', details: [], bundleVerdict: null, cosignatures: { pass: 0, fail: 0, unknown: 0, refused: 0 } };
      byId.set(id, r);
      out.appliances.push(r);
    }
    return r;
  };
  for (const id of members.keys()) entry(id);
  const gathered: { witness: string; items: Awaited<ReturnType<typeof bundleFleetFacts>> }[] = [];
  for (const b of bundles) {
    let facts;
    try {
      facts = await bundleFleetFacts(b.src);
    } catch (e) {
      out.appliances.push({ applianceId: '?', membership: 'not a member', bundle: b.name, status: 'fail', details: [`not a readable bundle: ${describeError(e)}`], bundleVerdict: null, cosignatures: { pass: 0, fail: 0, unknown: 0, refused: 0 } });
      continue;
    }
    const id = facts.view.applianceId;
    const r = entry(id);
    if (r.bundle !== null) {
      r.details.push(`a second bundle for it (${b.name}) was ignored`);
      continue;
    }
    r.bundle = b.name;
    const m = members.get(id);
    if (!m) {
      r.status = 'fail';
      r.details.push('the bundle comes from an appliance the fleet trust file does not list');
      continue;
    }
    const { trust: t, pinnedHere } = applianceTrust(trust, m, facts.checkpoint);
    const report = await verifyBundle(b.src, t, opts);
    r.report = report;
    r.bundleVerdict = report.verdict.status;
    const logOk = report.checks.filter((c) => c.id === 'log-inclusion' || c.id === 'signatures' || c.id === 'key-chain').every((c) => c.status === 'pass');
    if (!report.fatal && logOk) views.set(id, facts.view);
    r.status = report.ok ? 'pass' : report.verdict.status === 'partial' ? 'partial' : 'fail';
    if (!report.ok) r.details.push(`bundle: ${report.verdict.status}${report.fatal ? ` (${report.fatal})` : ''}`);
    if (pinnedHere) {
      r.details.push('the fleet trust file holds no checkpoint of it: a rollback before this bundle cannot be ruled out');
      if (r.status === 'pass') r.status = 'partial';
    }
    gathered.push({ witness: id, items: facts });
  }
  for (const g of gathered) {
    for (const item of g.items.cosigned) {
      let res = checkCosignature(members, item, views);
      // A cosignature counts only from the log of the witness that made it.
      try {
        if (readCosignature(item.cosignature).witnessId !== g.witness) res = { ...res, status: 'refused', detail: `found in ${g.witness}'s log but made by ${res.witnessId}` };
      } catch {
        /* already refused */
      }
      if (!views.has(g.witness) && res.status === 'pass') res = { ...res, status: 'unknown', detail: `${g.witness}'s own bundle did not verify` };
      out.cosignatures.push(res);
      if (res.subjectId) entry(res.subjectId).cosignatures[res.status]++;
    }
    for (const ref of g.items.refusals) out.refusals.push(checkRefusal(members, ref));
  }
  for (const c of [...out.cosignatures, ...out.refusals]) {
    if (c.status === 'fail' && c.subjectId) {
      const r = entry(c.subjectId);
      r.status = 'fail';
      r.details.push(c.detail);
    }
  }
  checkSessions(out, opts.sessions);
  for (const r of out.appliances) {
    if (r.bundle === null && r.status !== 'fail') r.details.push('no bundle of this appliance was given: its log is not checked');
    if (r.status === 'pass' && r.cosignatures.pass === 0) {
      r.status = 'partial';
      r.details.push('not witnessed: no cosignature of its log could be checked against its bundle');
    }
  }
  const statuses = out.appliances.map((a) => a.status);
  out.status = replay.problems.length || statuses.includes('fail') ? 'fail' : statuses.every((s) => s === 'pass') ? 'pass' : statuses.includes('partial') || statuses.includes('pass') ? 'partial' : 'unknown';
  out.ok = out.status === 'pass';
  return out;
}


/**
 * Sessions per appliance from the bundles, checked against the fleet's session index when given: a session
 * the index names inside its appliance's bundle window that the bundle does not hold is missing (fail).
 */
function checkSessions(out: FleetVerificationReport, index: FleetSessions | undefined): void {
  const held = new Map<string, Map<string, FleetSession>>();
  for (const a of out.appliances) {
    if (!a.report?.bundle) continue;
    const m = new Map<string, FleetSession>();
    for (const s of a.report.sessions) m.set(s.sessionId, { applianceId: a.applianceId, sessionId: s.sessionId, startedAt: s.startedAt ?? null, status: s.status, indexed: false });
    held.set(a.applianceId, m);
  }
  for (const s of index?.sessions ?? []) {
    const a = out.appliances.find((x) => x.applianceId === s.applianceId);
    const inBundle = held.get(s.applianceId)?.get(s.sessionId);
    if (inBundle) {
      inBundle.indexed = true;
      continue;
    }
    const range = a?.report?.bundle?.range;
    const covered = range !== undefined && (range.since === null || compareTimes(s.startedAt, range.since) >= 0) && (range.until === null || compareTimes(s.startedAt, range.until) < 0);
    const cp = a?.report?.bundle?.checkpoint;
    // A session indexed after the bundle's checkpoint was signed may simply be newer than the bundle.
    const before = cp !== undefined && compareTimes(s.startedAt, cp.time) < 0;
    const status = covered && before ? 'missing' : 'unknown';
    out.sessions.push({ applianceId: s.applianceId, sessionId: s.sessionId, startedAt: s.startedAt, status, indexed: true });
    if (status === 'missing' && a) {
      a.status = 'fail';
      a.details.push(`session ${s.sessionId} (#${s.seq}, started ${s.startedAt}) is in the fleet's session index but not in its bundle: missing on this appliance`);
    }
  }
  for (const m of held.values()) out.sessions.push(...m.values());
  if (!index) return;
  for (const [id, m] of held) {
    const n = [...m.values()].filter((x) => !x.indexed).length;
    if (n) out.appliances.find((a) => a.applianceId === id)!.details.push(`${n} session(s) of its bundle are not in the session index given (not indexed yet, or the index was altered)`);
  }
}
