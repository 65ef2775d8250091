/**
 * Purges and legal holds as the signed log records them, and the judgement of a session that ended but
 * whose archive is not in the bundle: purged under a retention policy (a signed purge record names it,
 * its manifest digest, at least 12 months and the policy's days after its end, no hold standing) or
 * simply missing — which stays a failure.
 */
import { describeError } from '../../errors.ts';
import type { KeyChain } from '../key-chain.ts';
import type { LogEntry } from '../log-entry.ts';
import { MINIMUM_RETENTION_DAYS, readPurgeRecord, retentionEnd, type PurgeRecord, type PurgedSession } from '../purge-record.ts';
import { SIGNED_LABELS, parseWith, signedEnvelopeSchema, verifyEnvelopeSignature, type SignedEnvelope } from '../signed.ts';
import type { SessionLog } from './session-log.ts';

export interface LoggedPurge {
  entry: number;
  t: string;
  envelope: SignedEnvelope;
  record: PurgeRecord;
  session: PurgedSession;
}

export interface LoggedHold {
  entry: number;
  t: string;
  type: 'retention.hold' | 'retention.released';
}

export interface RetentionFacts {
  purged?: LoggedPurge[];
  holds?: LoggedHold[];
}

/** Folds `evidence.purged`, `retention.hold` and `retention.released` into the per-session facts. */
export function collectRetention(e: LogEntry, get: (id: string) => SessionLog & RetentionFacts): void {
  if (e.type === 'retention.hold' || e.type === 'retention.released') {
    if (typeof e.sessionId !== 'string') throw new Error(`log entry ${e.i} (${e.type}): no sessionId`);
    const s = get(e.sessionId);
    (s.holds ??= []).push({ entry: e.i, t: e.t, type: e.type });
    return;
  }
  if (e.type !== 'evidence.purged') return;
  const envelope = parseWith(signedEnvelopeSchema, e.record, `log entry ${e.i} (evidence.purged) record`);
  const record = readPurgeRecord(envelope);
  for (const session of record.sessions) (get(session.sessionId).purged ??= []).push({ entry: e.i, t: e.t, envelope, record, session });
}

export type PurgeJudgement = { purged: true; summary: string } | { purged: false; reason: string } | undefined;

/**
 * For a session whose end entry is in the log and whose archive is not in the bundle: undefined when no
 * purge record names it (missing, as before), else whether the record proves a proper purge.
 */
export function judgePurge(log: SessionLog & RetentionFacts, keys: KeyChain, applianceId: string): PurgeJudgement {
  const p = log.purged?.[0];
  if (!p) return undefined;
  const fail = (why: string): PurgeJudgement => ({ purged: false, reason: `purge record (log entry ${p.entry}) does not account for its archive: ${why}` });
  try {
    const { record, session, envelope } = p;
    const key = keys.resolve(envelope.keyId, record.time);
    if (!key.ok) return fail(key.reason);
    if (!verifyEnvelopeSignature(SIGNED_LABELS.purgeRecord, envelope, key.key.publicKey)) return fail('its signature does not verify');
    if (record.keyId !== envelope.keyId) return fail(`it names key ${record.keyId} but key ${envelope.keyId} signed it`);
    if (record.applianceId !== applianceId) return fail(`it comes from appliance ${record.applianceId}`);
    const end = log.ended;
    if (!end || end.lost) return fail('the log has no sealed end for the session');
    if (log.started && session.seq !== log.started.seq) return fail(`it names session #${session.seq}, the log #${log.started.seq}`);
    if (session.manifestDigest !== (end.manifestDigest ?? null)) return fail('it names another manifest digest than the log\'s end entry');
    if (record.policy.days < MINIMUM_RETENTION_DAYS) return fail(`its policy keeps ${record.policy.days} days, below PCI DSS 10.5.1's ${MINIMUM_RETENTION_DAYS}`);
    if (p.entry < end.i) return fail('it comes before the session\'s end entry');
    // The session's end as the log dated it (an interrupted session's record may name its earlier last event).
    const ended = session.endedAt <= end.t ? session.endedAt : end.t;
    const due = retentionEnd(ended, record.policy.days);
    if (Date.parse(record.time) < due.getTime() || Date.parse(p.t) < due.getTime()) {
      return fail(`purged at ${p.t}, before its retention (${record.policy.days} days from ${ended}) ended on ${due.toISOString()}`);
    }
    let held = false;
    for (const h of log.holds ?? []) if (h.entry < p.entry) held = h.type === 'retention.hold';
    if (held) return fail('a legal hold placed on it was never released before the purge');
    // What the record says it deletes: whether the deletion then succeeded is not something the log can prove.
    const copies = session.copies.length ? `its ${session.copies.join(' and ')} copies` : 'no copy (none was left)';
    return {
      purged: true,
      summary: `purged by signed record at ${p.t} (log entry ${p.entry}) under retention policy "${record.policy.name}" (${record.policy.days} days after its end, ${ended}); the record covers ${copies}`,
    };
  } catch (e) {
    return fail(describeError(e));
  }
}
