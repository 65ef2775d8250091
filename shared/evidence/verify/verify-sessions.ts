/**
 * Session completeness and every archive: the sequence in the log, each listed archive verified (here or
 * in the caller's pool), cross-checked with the log — and, for an archive that is missing or unreadable,
 * what the signed log alone proves about its session (marked `source: 'log'`, content unavailable).
 */
import { describeError } from '../../errors.ts';
import type { BundleManifest } from '../bundle-format.ts';
import { sliceSource, type ByteSource } from '../byte-source.ts';
import type { EvidenceEvent } from '../events.ts';
import type { KeyChain } from '../key-chain.ts';
import type { TarMember } from '../tar.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import type { ReportBuilder, SessionReport, VerificationReport } from './report.ts';
import { approvalsFromLog, compareWithLog, type SessionLog } from './session-log.ts';
import { archiveIdentitySources, crossCheckIdentity, type IdentityOutcome } from './session-identity.ts';
import { judgePurge } from './retention-log.ts';
import { verifyArchive, type ArchiveVerification } from './verify-archive.ts';
import type { ArchiveJob, BundleVerifyOptions } from './verify-bundle.ts';
import { compareTimes } from '../time-order.ts';

/** Returns how many archive manifest signatures verified (for the `signatures` coverage). */
export async function verifySessions(
  src: ByteSource,
  byName: Map<string, TarMember>,
  manifest: BundleManifest,
  logged: Map<string, SessionLog>,
  keys: KeyChain,
  opts: BundleVerifyOptions,
  rb: ReportBuilder,
  report: VerificationReport,
): Promise<number> {
  const { since, until } = manifest.range;
  const inWindow = (t: string) => (!since || compareTimes(t, since) >= 0) && (!until || compareTimes(t, until) < 0);
  const listed = new Map(manifest.archives.map((a) => [a.sessionId, a]));
  const reports = new Map<string, SessionReport>();
  const reportFor = (id: string, seq: number | null): SessionReport => {
    let r = reports.get(id);
    if (!r) reports.set(id, (r = { sessionId: id, seq, status: 'complete', reasons: [], source: 'log', contentAvailable: false }));
    return r;
  };

  // Sequence: session numbers in the log must run without gaps.
  const started = [...logged.entries()].flatMap(([id, s]) => (s.started ? [{ id, s: s.started }] : [])).sort((a, b) => a.s.i - b.s.i);
  let prevSeq: number | undefined;
  for (const { id, s } of started) {
    if (prevSeq !== undefined && s.seq !== prevSeq + 1) {
      rb.fail('session-sequence', `session numbers jump from ${prevSeq} to ${s.seq} (log entry ${s.i}): ${s.seq > prevSeq + 1 ? 'sessions are missing from the log' : 'a session number repeats'}`);
    }
    prevSeq = s.seq;
    if (!inWindow(s.t)) continue;
    const r = reportFor(id, s.seq);
    applyLogFacts(r, logged.get(id)!);
    const end = logged.get(id)!.ended;
    if (!end) {
      r.status = 'in-progress';
      r.reasons.push(`still running at checkpoint ${manifest.checkpoint.size}: no end entry yet`);
    } else if (end.lost) {
      rb.fail('session-sequence', `archive lost: the appliance could not seal it after a crash (${String(end.error ?? 'unknown error')})`, r);
    } else if (!listed.has(id)) {
      const purge = judgePurge(logged.get(id)!, keys, manifest.applianceId);
      if (purge?.purged) {
        r.status = 'purged';
        r.reasons.push(purge.summary);
      } else {
        rb.fail('session-sequence', purge ? purge.reason : `ended (log entry ${end.i}) but its archive is not in the bundle`, r);
      }
    } else if (logged.get(id)!.purged?.length) {
      rb.fail('session-sequence', `the log records it purged (entry ${logged.get(id)!.purged![0]!.entry}) but its archive is in the bundle`, r);
    }
  }
  // Once the log identifies a session, every session started after it must be identified too.
  const firstIdentified = started.find(({ id }) => logged.get(id)?.identified?.length);
  const identity: Record<IdentityOutcome, number> = { 'agree': 0, 'disagree': 0, 'not-logged': 0, 'not-checkable': 0, 'none': 0 };
  const archiveNames = new Set([...byName.keys()].filter((n) => n.startsWith('archives/')));
  for (const a of manifest.archives) archiveNames.delete(a.file);
  for (const extra of archiveNames) rb.fail('session-sequence', `${extra} is in the bundle but not in its signed manifest`);

  const total = manifest.archives.reduce((n, a) => n + a.bytes, 0);
  let done = 0;
  let frames = 0;
  let clearFindings = 0;
  let decrypted = 0;
  let manifestsSigned = 0;
  let finalChecked = 0;
  let finalExpected = 0;
  const approvals: ApprovalEvidence[] = [];
  let verified = 0;
  // Archives are verified up to `concurrency` at a time (by default one, here); results are taken in
  // manifest order, so the report is the same whatever the concurrency.
  const pool = opts.archivePool;
  const concurrency = Math.max(1, pool?.concurrency ?? 1);
  const inFlight = new Map<number, number>();
  const progress = () => {
    let n = done;
    for (const x of inFlight.values()) n += x;
    opts.onProgress?.(n, total);
  };
  const jobs = manifest.archives.map((a): ArchiveJob | undefined => {
    const member = byName.get(a.file);
    return member ? { sessionId: a.sessionId, file: a.file, offset: member.offset, size: member.size, anchors: logged.get(a.sessionId)?.anchors ?? [] } : undefined;
  });
  const running: (Promise<ArchiveVerification> | undefined)[] = [];
  let launched = 0;
  const launch = (taken: number) => {
    for (; launched < jobs.length && launched < taken + concurrency; launched++) {
      const job = jobs[launched];
      if (!job) continue;
      const i = launched;
      const onProgress = (n: number) => {
        inFlight.set(i, n);
        progress();
      };
      running[i] = pool
        ? pool.verify(job, onProgress).catch((e: unknown) => failedJob(job, e))
        : verifyArchive(sliceSource(src, job.offset, job.size), {
            keys,
            anchors: job.anchors,
            ...(opts.auditor ? { auditor: opts.auditor } : {}),
            ...(opts.webCryptoDigests ? { webCryptoDigests: true } : {}),
            onProgress,
            ...(opts.onEvents ? { onEvents: (evs: EvidenceEvent[]) => opts.onEvents!(job.sessionId, evs) } : {}),
          });
    }
  };
  for (const [index, a] of manifest.archives.entries()) {
    launch(index);
    const r = reportFor(a.sessionId, a.seq);
    r.file = a.file;
    r.bytes = a.bytes;
    const member = byName.get(a.file);
    const log = logged.get(a.sessionId);
    if (log) applyLogFacts(r, log);
    if (log?.ended?.outcome === 'complete') finalExpected++;
    if (!member) {
      rb.fail('session-sequence', `archive ${a.file} is listed in the signed bundle manifest but missing from the bundle`, r);
      approvals.push(...approvalsFromLog(a.sessionId, log));
      done += a.bytes;
      continue;
    }
    if (member.size !== a.bytes) rb.fail('digests', `archive is ${member.size} bytes, the bundle manifest says ${a.bytes}`, r);
    if (!log?.started) rb.fail('log-inclusion', 'archive has no session.started entry in the log excerpt', r);
    else if (!inWindow(log.started.t)) rb.fail('log-inclusion', 'archive started outside the bundle\'s export window', r);
    const v = await running[index]!;
    running[index] = undefined;
    inFlight.delete(index);
    done += member.size;
    progress();
    frames += v.frames;
    clearFindings += v.clearCardData.length;
    rb.failAll(v.failures, r);
    const h = v.header;
    const m = v.manifest;
    if (h && (h.sessionId !== a.sessionId || h.sessionSeq !== a.seq)) rb.fail('digests', `archive file holds session ${h.sessionId} #${h.sessionSeq}, not the one listed`, r);
    if (h && log?.started && v.failures.length === 0 && log.started.headerDigest !== m?.headerDigest) {
      rb.fail('log-inclusion', 'archive header differs from the one logged at session start', r);
    }
    if (v.manifestDigest) {
      if (v.manifestDigest !== a.manifestDigest) rb.fail('log-inclusion', 'archive manifest differs from the one named in the bundle manifest', r);
      if (log?.ended && log.ended.manifestDigest !== v.manifestDigest) rb.fail('log-inclusion', `archive manifest differs from the one logged at session end (entry ${log.ended.i})`, r);
      if (log && !log.ended) rb.fail('log-inclusion', 'the log has no end entry for this archive', r);
      if (log?.ended && m && log.ended.outcome !== m.outcome) rb.fail('log-inclusion', `the log says ${log.ended.outcome}, the archive says ${m.outcome}`, r);
    }
    if (log && v.failures.length === 0) {
      const before = firstIdentified && log.started && firstIdentified.s.i < log.started.i ? { seq: firstIdentified.s.seq } : undefined;
      const c = crossCheckIdentity(log, archiveIdentitySources(m, v.identity), before);
      for (const p of c.problems) rb.fail('log-inclusion', p, r);
      identity[c.outcome]++;
    }
    if (m && !v.failures.some((f) => f.check === 'signatures' || (f.check === 'key-chain' && f.message.startsWith('manifest:')))) manifestsSigned++;
    if (m) {
      r.source = 'archive';
      r.protocol = m.context.protocol;
      r.context = m.context;
      r.startedAt = m.startedAt;
      r.endedAt = m.endedAt;
      r.endedAtSource = 'manifest';
      r.frames = m.frames;
      r.closeReason = m.closeReason;
      r.stats = m.stats;
      if (m.events !== undefined) r.events = m.events;
      if (r.status !== 'failed') r.status = m.outcome;
      if (m.outcome === 'interrupted') lastDurable(r, m.sealedAt, v, log);
    } else if (h) {
      r.source = 'archive';
      r.context = h.context;
      r.protocol = h.context.protocol;
    }
    if (v.events !== undefined) r.events = v.events;
    const contentRead = opts.auditor !== undefined && v.events !== undefined && !v.failures.some((f) => f.check === 'decryption');
    r.contentAvailable = contentRead;
    if (contentRead) {
      decrypted++;
      if (m?.outcome === 'complete') finalChecked++;
      for (const p of compareWithLog(v.approvals, log)) rb.fail('approvals', p, r);
      approvals.push(...v.approvals);
    } else {
      // What the archive could not show, the log still proves: keep those approvals in the register.
      approvals.push(...approvalsFromLog(a.sessionId, log));
    }
    if (r.status !== 'failed' && v.status === 'failed') r.status = 'failed';
    // Intact = its digests hold; a re-scan or approvals failure is its own check's, not a damaged archive.
    if (!v.failures.some((f) => f.check === 'digests')) verified++;
  }
  report.approvals = approvals;
  report.sessions = [...reports.values()].sort((x, y) => (x.seq ?? 0) - (y.seq ?? 0));
  summarise(rb, report, { listed: manifest.archives.length, verified, frames, decrypted, finalChecked, finalExpected, clearFindings, approvals, identity });
  return manifestsSigned;
}

/** Facts the signed log proves, filled in first so a session without a readable archive still has them. */
function applyLogFacts(r: SessionReport, log: SessionLog): void {
  const s = log.started;
  if (s) {
    r.protocol = s.protocol;
    r.startedAt = s.t;
    const id = log.identified?.[0];
    const identity = log.subject ? { subject: log.subject, ...(id?.issuer ? { issuer: id.issuer } : {}), ...(id?.method ? { method: id.method } : {}) } : null;
    r.context = { protocol: s.protocol, identity, target: log.target ? { name: log.target } : null, client: null };
  }
  const end = log.ended;
  const anchored = Math.max(0, ...log.anchors.map((a) => a.frames));
  if (end && !end.lost) {
    r.frames = end.frames ?? anchored;
    if (end.events !== undefined) r.events = end.events;
    // An interrupted session's end entry is written when it was sealed at restart: not when it ended.
    if (end.outcome === 'interrupted') {
      if (log.lastAnchorAt) Object.assign(r, { endedAt: log.lastAnchorAt, endedAtSource: 'last-anchor', sealedAt: end.t });
    } else {
      Object.assign(r, { endedAt: end.t, endedAtSource: 'log-end' });
    }
  } else if (anchored) {
    r.frames = anchored;
  }
  r.approvalsLogged = log.approvals.size;
}

/** An interrupted archive's end: its last decrypted event, else the log's last anchor; never the seal time. */
function lastDurable(r: SessionReport, sealedAt: string, v: ArchiveVerification, log: SessionLog | undefined): void {
  r.sealedAt = sealedAt;
  const created = v.header ? Date.parse(v.header.createdAt) : NaN;
  if (v.lastEventT !== undefined && Number.isFinite(created)) {
    r.endedAt = new Date(created + v.lastEventT).toISOString();
    r.endedAtSource = 'last-event';
  } else if (log?.lastAnchorAt) {
    r.endedAt = log.lastAnchorAt;
    r.endedAtSource = 'last-anchor';
  } else {
    // Nothing durable is dated: the start is the only time proven.
    delete r.endedAt;
    delete r.endedAtSource;
  }
}

interface Tally {
  listed: number;
  verified: number;
  frames: number;
  decrypted: number;
  finalChecked: number;
  finalExpected: number;
  clearFindings: number;
  approvals: ApprovalEvidence[];
  identity: Record<IdentityOutcome, number>;
}

function summarise(rb: ReportBuilder, report: VerificationReport, t: Tally): void {
  rb.addSummary('log-inclusion', identitySummary(t.identity));
  const sessions = report.sessions;
  const counts = count(sessions.map((s) => s.status));
  // A session purged under a signed record is accounted for: the record says where its archive went.
  const accounted = sessions.filter((s) => s.source === 'archive' || s.status === 'in-progress' || s.status === 'purged').length;
  rb.summary('digests', `${t.verified} of ${t.listed} archives intact (${t.frames} frames)`);
  rb.cover('digests', t.verified, t.listed, 'archive');
  rb.summary('session-sequence', `${sessions.length} session(s) in the window: ${counts}`);
  rb.cover('session-sequence', accounted, sessions.length, 'session');
  rb.summary('decryption', `every frame of ${t.decrypted} of ${t.listed} archive(s) authenticated`);
  rb.cover('decryption', t.decrypted, t.listed, 'archive');
  rb.summary('tag-final', `${t.finalChecked} of ${t.finalExpected} complete archive(s) checked end with TAG_FINAL`);
  rb.cover('tag-final', t.finalChecked, t.finalExpected, 'archive');
  const unread = t.listed - t.decrypted;
  const unreadText = unread ? `; ${unread} archive(s) could not be read, not re-scanned` : '';
  rb.summary('pan-rescan', `${t.clearFindings ? `${t.clearFindings} finding(s)` : 'no clear card numbers or track data found (nor keyword-anchored security codes or PINs in recorded text and terminal streams)'} in ${t.decrypted} of ${t.listed} archive(s)${unreadText}`);
  rb.cover('pan-rescan', t.decrypted, t.listed, 'archive');
  const fromArchive = t.approvals.filter((a) => a.source === 'archive');
  const fromLog = t.approvals.filter((a) => a.source === 'log');
  const held = fromArchive.length
    ? `${fromArchive.length} held command(s) in ${t.decrypted} decrypted archive(s): ${fromArchive.filter((a) => a.outcome === 'approved').length} approved, each bound by its hash`
    : `no command was held for approval in ${t.decrypted} decrypted archive(s)`;
  const logged = fromLog.length ? `; ${fromLog.length} more request(s) known only from the signed log (content unavailable: not checked against what ran)` : '';
  rb.summary('approvals', held + logged);
  rb.cover('approvals', t.decrypted, t.listed, 'archive');
}

/** The identity cross-check in words, added to the log-inclusion summary ('' when no archive had anything to compare). */
function identitySummary(n: Record<IdentityOutcome, number>): string {
  const proven = n.agree + n.disagree + n['not-logged'];
  const parts: string[] = [];
  if (n.agree || n.disagree) parts.push(`identity and target of ${n.agree} of ${proven} session(s) with a proven identity agree with the signed log`);
  if (n['not-logged']) parts.push(`identity not in the signed log for ${n['not-logged']} session(s) (written before the appliance logged session.identified)`);
  if (n['not-checkable']) parts.push(`identity in the signed log not checkable for ${n['not-checkable']} session(s): their archive names none without the auditor key`);
  return parts.join('; ');
}

/** A pool that could not verify an archive (its worker died): the archive fails with the reason, the run goes on. */
function failedJob(job: ArchiveJob, e: unknown): ArchiveVerification {
  return { status: 'failed', failures: [{ check: 'digests', message: `could not be verified: ${describeError(e)}` }], frames: 0, bytes: job.size, clearCardData: [], approvals: [] };
}

function count(statuses: string[]): string {
  const m = new Map<string, number>();
  for (const s of statuses) m.set(s, (m.get(s) ?? 0) + 1);
  return [...m].map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
}
