/**
 * Verifies a bundle offline against a pinned trust file — the one procedure both `vigil verify` and the
 * viewer run, so they cannot disagree. Order: structure → keys → signed statements → log (root rebuilt
 * from the entries, consistency with the pinned checkpoint) → session completeness → every archive.
 */
import { fromHex, fromUtf8, toHex } from '../../bytes.ts';
import { describeError } from '../../errors.ts';
import { CompactRange, leafHash, verifyConsistency } from '../../merkle/index.ts';
import {
  BUNDLE_FILES,
  bundleManifestSchema,
  consistencyProofsSchema,
  logPrefixSchema,
  type BundleManifest,
} from '../bundle-format.ts';
import { sliceSource, type ByteSource } from '../byte-source.ts';
import { readCheckpoint, type Checkpoint } from '../checkpoint.ts';
import type { EvidenceEvent } from '../events.ts';
import { KeyChain } from '../key-chain.ts';
import {
  entryFields,
  parseLogEntry,
  sessionAnchorSchema,
  sessionEndedSchema,
  sessionStartedSchema,
  type LogEntry,
} from '../log-entry.ts';
import { SIGNED_LABELS, bundleManifestEnvelopeSchema, parseJson, parseSigned, parseWith, signedEnvelopeSchema, verifyEnvelopeSignature, type SignedEnvelope, type SignedLabel } from '../signed.ts';
import { readTarIndex, type TarMember } from '../tar.ts';
import type { TrustFile } from '../trust.ts';
import { ReportBuilder, type SessionReport, type VerificationReport } from './report.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import { verifyArchive, type Anchor, type ArchiveVerification, type AuditorSecret } from './verify-archive.ts';

export interface BundleVerifyOptions {
  auditor?: AuditorSecret;
  onProgress?: (done: number, total: number) => void;
  /** Receives every decrypted event (viewer replay, search). */
  onEvents?: (sessionId: string, events: EvidenceEvent[]) => void;
  now?: () => Date;
  /** Frame digests through WebCrypto (see ArchiveVerifyOptions.webCryptoDigests); the viewer sets it. */
  webCryptoDigests?: boolean;
  /**
   * Verifies archives somewhere else, several at a time: the viewer runs `verifyArchive` on the same bytes
   * in a pool of Web Workers. Each result must be what `verifyArchive` returns for the job (with the
   * bundle's key chain and the job's anchors); events then go wherever the pool sends them (not onEvents).
   * Without it, archives are verified here, one after another.
   */
  archivePool?: ArchivePool;
}

/** One archive to verify: where it is in the bundle and the chain heads the log anchored for it. */
export interface ArchiveJob {
  sessionId: string;
  file: string;
  offset: number;
  size: number;
  anchors: Anchor[];
}

export interface ArchivePool {
  concurrency: number;
  verify(job: ArchiveJob, onProgress: (bytesDone: number) => void): Promise<ArchiveVerification>;
}

const MAX_JSON_MEMBER = 256 * 1024 * 1024;

interface SessionLog {
  started?: LogEntry & { sessionId: string; seq: number; headerDigest: string; protocol: string };
  anchors: Anchor[];
  ended?: LogEntry & { outcome: string; manifestDigest?: string; frames?: number; lost?: boolean; error?: string };
  /** Approval requests the log names for this session: request id → command hash and decisions. */
  approvals: Map<string, { commandHash: string; decided: { approver: string; decision: string }[] }>;
}

export async function verifyBundle(src: ByteSource, trust: TrustFile, opts: BundleVerifyOptions = {}): Promise<VerificationReport> {
  const rb = new ReportBuilder();
  const withKey = opts.auditor !== undefined;
  const pinned = readCheckpoint(trust.checkpoint);
  const report: VerificationReport = {
    ok: false,
    withKey,
    verifiedAt: (opts.now?.() ?? new Date()).toISOString(),
    trust: { applianceId: trust.applianceId, pinnedCheckpoint: { size: pinned.size, time: pinned.time }, keys: [] },
    checks: [],
    sessions: [],
  };
  try {
    await verifyInto(src, trust, pinned, opts, rb, report);
  } catch (e) {
    report.fatal = describeError(e);
  }
  report.checks = rb.checks(withKey, report.fatal);
  report.ok = !report.fatal && !rb.hasFailures();
  return report;
}

async function verifyInto(
  src: ByteSource,
  trust: TrustFile,
  pinned: Checkpoint,
  opts: BundleVerifyOptions,
  rb: ReportBuilder,
  report: VerificationReport,
): Promise<void> {
  const members = await readTarIndex(src);
  const byName = new Map(members.map((m) => [m.name, m]));
  const need = (name: string): TarMember => {
    const m = byName.get(name);
    if (!m) throw new Error(`not a valid Vigil bundle: ${name} is missing`);
    return m;
  };
  const readJson = async (name: string): Promise<unknown> => {
    const m = need(name);
    if (m.size > MAX_JSON_MEMBER) throw new Error(`${name} is implausibly large (${m.size} bytes)`);
    let text: string;
    try {
      text = fromUtf8(await src.read(m.offset, m.size));
    } catch {
      throw new Error(`${name} is not UTF-8`);
    }
    return parseJson(text, name);
  };

  // Keys: pinned keys, then every rotation signed by a key already trusted.
  const rotations = parseWith(signedEnvelopeSchema.array().max(10_000), await readJson(BUNDLE_FILES.rotations), BUNDLE_FILES.rotations);
  const keys = new KeyChain(trust, rotations);
  for (const p of keys.problems) rb.fail('key-chain', p);
  report.trust.keys = keys.list().map((k) => ({
    keyId: k.keyId,
    fingerprint: k.fingerprint,
    validFrom: k.validFrom,
    validUntil: k.validUntil,
    source: k.source === 'pinned' ? 'pinned in trust file' : `announced by ${k.source.rotatedFrom} at ${k.source.at}`,
  }));
  let signatures = 0;
  const checkSigned = (label: SignedLabel, env: SignedEnvelope, at: string, what: string): void => {
    const key = keys.resolve(env.keyId, at);
    if (!key.ok) return rb.fail('key-chain', `${what}: ${key.reason}`);
    if (!verifyEnvelopeSignature(label, env, key.key.publicKey)) return rb.fail('signatures', `${what}: signature does not verify`);
    signatures++;
  };

  const pinnedKey = keys.resolve(trust.checkpoint.keyId, pinned.time);
  if (!pinnedKey.ok || !verifyEnvelopeSignature(SIGNED_LABELS.checkpoint, trust.checkpoint, pinnedKey.key.publicKey)) {
    rb.fail('signatures', 'the trust file\'s pinned checkpoint is not signed by a pinned key');
  }

  const manifestEnv = parseWith(bundleManifestEnvelopeSchema, await readJson(BUNDLE_FILES.manifest), BUNDLE_FILES.manifest);
  const manifest = parseSigned(manifestEnv, bundleManifestSchema, 'bundle manifest');
  checkSigned(SIGNED_LABELS.bundleManifest, manifestEnv, manifest.createdAt, 'bundle manifest');
  const cpEnv = parseWith(signedEnvelopeSchema, await readJson(BUNDLE_FILES.checkpoint), BUNDLE_FILES.checkpoint);
  const cp = readCheckpoint(cpEnv);
  checkSigned(SIGNED_LABELS.checkpoint, cpEnv, cp.time, `checkpoint (size ${cp.size})`);
  report.bundle = {
    bundleId: manifest.bundleId,
    applianceId: manifest.applianceId,
    createdAt: manifest.createdAt,
    range: manifest.range,
    checkpoint: { size: cp.size, root: cp.root, time: cp.time, keyId: cp.keyId },
    log: manifest.log,
    bytes: src.size,
  };
  if (manifest.applianceId !== trust.applianceId || cp.applianceId !== trust.applianceId) {
    rb.fail('key-chain', `the bundle comes from appliance ${manifest.applianceId}, the trust file pins ${trust.applianceId}`);
  }
  if (manifest.checkpoint.size !== cp.size || manifest.checkpoint.root !== cp.root || manifest.log.to !== cp.size) {
    rb.fail('log-inclusion', 'the bundle manifest and the checkpoint disagree on the log size or root');
  }

  const sessions = await verifyLog(src, need, readJson, manifest, cp, rb);
  checkConsistency(await readJson(BUNDLE_FILES.consistency), cp, pinned, rb);
  await verifySessions(src, byName, manifest, sessions, keys, opts, rb, report);
  rb.summary('signatures', `${signatures + report.sessions.filter((s) => s.status !== 'failed' && s.status !== 'in-progress').length} signatures verified`);
  rb.summary('key-chain', `${keys.list().length} key(s): ${trust.keys.length} pinned, ${keys.rotationsFollowed} rotation(s) followed`);
}

/** Rebuilds the checkpoint root from prefix hashes + entries; returns what the entries say per session. */
async function verifyLog(
  src: ByteSource,
  need: (n: string) => TarMember,
  readJson: (n: string) => Promise<unknown>,
  manifest: BundleManifest,
  cp: Checkpoint,
  rb: ReportBuilder,
): Promise<Map<string, SessionLog>> {
  const prefix = parseWith(logPrefixSchema, await readJson(BUNDLE_FILES.prefix), BUNDLE_FILES.prefix);
  const sessions = new Map<string, SessionLog>();
  const get = (id: string): SessionLog => {
    let s = sessions.get(id);
    if (!s) sessions.set(id, (s = { anchors: [], approvals: new Map() }));
    return s;
  };
  if (prefix.size !== manifest.log.from) {
    rb.fail('log-inclusion', `log prefix covers ${prefix.size} entries but the entries start at ${manifest.log.from}`);
    return sessions;
  }
  let range: CompactRange;
  try {
    range = CompactRange.fromHashes(0, prefix.size, prefix.hashes.map(fromHex));
  } catch (e) {
    rb.fail('log-inclusion', `log prefix: ${describeError(e)}`);
    return sessions;
  }
  let expected = manifest.log.from;
  let lastTime = '';
  let first: LogEntry | undefined;
  let structural: string | undefined;
  for await (const line of lines(src, need(BUNDLE_FILES.entries))) {
    range.append(leafHash(line));
    if (structural) continue;
    let e: LogEntry;
    try {
      e = parseLogEntry(fromUtf8(line), expected);
      if (e.i !== expected) throw new Error(`log entry ${expected}: carries index ${e.i}`);
      if (e.t < lastTime) throw new Error(`log entry ${e.i}: time ${e.t} runs backwards`);
      collect(e, get);
    } catch (err) {
      structural = describeError(err);
      continue;
    }
    first ??= e;
    lastTime = e.t;
    expected++;
  }
  if (structural) rb.fail('log-inclusion', structural);
  if (range.end !== cp.size) {
    rb.fail('log-inclusion', `the bundle holds log entries up to ${range.end}, the checkpoint covers ${cp.size}: entries were removed or added`);
  } else if (toHex(range.root()) !== cp.root) {
    rb.fail('log-inclusion', 'the log entries do not hash to the signed checkpoint root: an entry was altered, removed, reordered or added');
  }
  const since = manifest.range.since;
  if (since && first && manifest.log.from > 0 && first.t >= since) {
    rb.fail('log-inclusion', `the log excerpt starts inside the export window (entry ${first.i} at ${first.t}): earlier entries of the window are not shown`);
  }
  rb.summary('log-inclusion', `${cp.size - manifest.log.from} log entries (from ${manifest.log.from}) rebuild checkpoint ${cp.size}'s root`);
  return sessions;
}

function collect(e: LogEntry, get: (id: string) => SessionLog): void {
  switch (e.type) {
    case 'session.started': {
      const f = entryFields(e, sessionStartedSchema);
      get(f.sessionId).started = { ...e, ...f };
      break;
    }
    case 'session.anchor': {
      const f = entryFields(e, sessionAnchorSchema);
      get(f.sessionId).anchors.push({ frames: f.frames, chainHead: f.chainHead, logIndex: e.i });
      break;
    }
    case 'approval.requested':
    case 'approval.decided': {
      const id = typeof e.sessionId === 'string' ? e.sessionId : '';
      const requestId = typeof e.requestId === 'string' ? e.requestId : '';
      const hash = typeof e.commandHash === 'string' ? e.commandHash : '';
      const log = get(id).approvals;
      const a = log.get(requestId) ?? { commandHash: hash, decided: [] };
      log.set(requestId, a);
      if (e.type === 'approval.decided') a.decided.push({ approver: String(e.approver), decision: e.decision === 'approve' ? 'approved' : 'denied' });
      break;
    }
    case 'session.ended':
    case 'session.interrupted': {
      const id = typeof e.sessionId === 'string' ? e.sessionId : '';
      if (e.lost === true) get(id).ended = { ...e, outcome: 'interrupted', lost: true };
      else get(id).ended = { ...e, ...entryFields(e, sessionEndedSchema) };
      break;
    }
  }
}

/** Splits a member into lines (without the newline), never holding more than one chunk plus a line. */
async function* lines(src: ByteSource, m: TarMember): AsyncGenerator<Uint8Array> {
  const CHUNK = 4 * 1024 * 1024;
  let carry = new Uint8Array(0) as Uint8Array;
  for (let o = 0; o < m.size; o += CHUNK) {
    const chunk = await src.read(m.offset + o, Math.min(CHUNK, m.size - o));
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, i);
      if (carry.length) {
        const joined = new Uint8Array(carry.length + part.length);
        joined.set(carry);
        joined.set(part, carry.length);
        carry = new Uint8Array(0);
        yield joined;
      } else {
        yield part;
      }
      start = i + 1;
    }
    const rest = chunk.subarray(start);
    if (carry.length + rest.length > 1024 * 1024) throw new Error('log entries: a line longer than 1 MiB');
    const next = new Uint8Array(carry.length + rest.length);
    next.set(carry);
    next.set(rest, carry.length);
    carry = next;
  }
  if (carry.length) throw new Error('log entries: the last entry has no newline (file truncated)');
}

function checkConsistency(raw: unknown, cp: Checkpoint, pinned: Checkpoint, rb: ReportBuilder): void {
  const proofs = parseWith(consistencyProofsSchema, raw, BUNDLE_FILES.consistency);
  // Every proof shipped must hold, not only the one the pinned checkpoint needs.
  for (const p of proofs) {
    if (p.fromSize > cp.size || !verifyConsistency(p.fromSize, cp.size, fromHex(p.fromRoot), fromHex(cp.root), p.proof.map(fromHex))) {
      rb.fail('log-consistency', `the consistency proof from checkpoint size ${p.fromSize} does not verify`);
    }
  }
  if (pinned.applianceId !== cp.applianceId) return; // reported as a key-chain failure already
  if (pinned.size > cp.size) {
    if (cp.time > pinned.time) {
      rb.fail('log-consistency', `log rolled back: the pinned checkpoint (${pinned.time}) has ${pinned.size} entries, this later checkpoint (${cp.time}) only ${cp.size}`);
    } else {
      rb.summary('log-consistency', `not checkable: this bundle (checkpoint ${cp.size}) predates the pinned checkpoint (${pinned.size})`);
    }
    return;
  }
  if (pinned.size === cp.size) {
    if (pinned.root !== cp.root) rb.fail('log-consistency', `checkpoint ${cp.size} has another root than the pinned checkpoint of the same size: the log was rewritten`);
    else rb.summary('log-consistency', `checkpoint ${cp.size} is the pinned checkpoint`);
    return;
  }
  const p = proofs.find((x) => x.fromSize === pinned.size);
  if (!p) {
    rb.fail('log-consistency', `the bundle carries no consistency proof from the pinned checkpoint (size ${pinned.size})`);
    return;
  }
  if (p.fromRoot !== pinned.root) {
    rb.fail('log-consistency', `the log's checkpoint ${pinned.size} has another root than the pinned one: the log was rewritten`);
    return;
  }
  if (!verifyConsistency(pinned.size, cp.size, fromHex(pinned.root), fromHex(cp.root), p.proof.map(fromHex))) {
    rb.fail('log-consistency', `checkpoint ${cp.size} is not consistent with the pinned checkpoint ${pinned.size}: the log was rewritten or rolled back`);
    return;
  }
  rb.summary('log-consistency', `checkpoint ${cp.size} extends the pinned checkpoint ${pinned.size}`);
}

async function verifySessions(
  src: ByteSource,
  byName: Map<string, TarMember>,
  manifest: BundleManifest,
  logged: Map<string, SessionLog>,
  keys: KeyChain,
  opts: BundleVerifyOptions,
  rb: ReportBuilder,
  report: VerificationReport,
): Promise<void> {
  const { since, until } = manifest.range;
  const inWindow = (t: string) => (!since || t >= since) && (!until || t < until);
  const listed = new Map(manifest.archives.map((a) => [a.sessionId, a]));
  const reports = new Map<string, SessionReport>();
  const reportFor = (id: string, seq: number | null): SessionReport => {
    let r = reports.get(id);
    if (!r) reports.set(id, (r = { sessionId: id, seq, status: 'complete', reasons: [] }));
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
    r.protocol = s.protocol;
    r.startedAt = s.t;
    const end = logged.get(id)!.ended;
    if (!end) {
      r.status = 'in-progress';
      r.reasons.push(`still running at checkpoint ${manifest.checkpoint.size}: no end entry yet`);
    } else if (end.lost) {
      rb.fail('session-sequence', `archive lost: the appliance could not seal it after a crash (${String(end.error ?? 'unknown error')})`, r);
    } else if (!listed.has(id)) {
      rb.fail('session-sequence', `ended (log entry ${end.i}) but its archive is not in the bundle`, r);
    }
  }
  const archiveNames = new Set([...byName.keys()].filter((n) => n.startsWith('archives/')));
  for (const a of manifest.archives) archiveNames.delete(a.file);
  for (const extra of archiveNames) rb.fail('session-sequence', `${extra} is in the bundle but not in its signed manifest`);

  const total = manifest.archives.reduce((n, a) => n + a.bytes, 0);
  let done = 0;
  let frames = 0;
  let clearFindings = 0;
  let decrypted = 0;
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
    if (!member) {
      rb.fail('session-sequence', `archive ${a.file} is listed in the signed bundle manifest but missing from the bundle`, r);
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
    if (m) {
      r.protocol = m.context.protocol;
      r.context = m.context;
      r.startedAt = m.startedAt;
      r.endedAt = m.endedAt;
      r.frames = m.frames;
      r.closeReason = m.closeReason;
      r.stats = m.stats;
      if (m.events !== undefined) r.events = m.events;
      if (r.status !== 'failed') r.status = m.outcome;
    } else if (h) {
      r.context = h.context;
      r.protocol = h.context.protocol;
    }
    if (v.events !== undefined) r.events = v.events;
    if (opts.auditor) {
      if (v.events !== undefined && !v.failures.some((f) => f.check === 'decryption')) decrypted++;
      checkApprovalsAgainstLog(v.approvals, log, r, rb);
      approvals.push(...v.approvals);
    }
    if (r.status !== 'failed' && v.status === 'failed') r.status = 'failed';
    if (v.failures.length === 0) verified++;
  }
  if (opts.auditor) report.approvals = approvals;
  report.sessions = [...reports.values()].sort((x, y) => (x.seq ?? 0) - (y.seq ?? 0));
  const counts = count(report.sessions.map((s) => s.status));
  rb.summary('digests', `${verified} of ${manifest.archives.length} archives intact (${frames} frames)`);
  rb.summary('session-sequence', `${report.sessions.length} session(s) in the window: ${counts}`);
  rb.summary('decryption', `every frame of ${decrypted} of ${manifest.archives.length} archive(s) authenticated`);
  rb.summary('tag-final', `${report.sessions.filter((x) => x.status === 'complete').length} complete archive(s) end with TAG_FINAL`);
  const held = approvals.length;
  rb.summary('approvals', held ? `${held} held command(s): ${approvals.filter((a) => a.outcome === 'approved').length} approved, each bound by its hash` : 'no command was held for approval');
  rb.summary('pan-rescan', clearFindings ? `${clearFindings} finding(s)` : 'no clear card numbers or track data found');
}

/** A pool that could not verify an archive (its worker died): the archive fails with the reason, the run goes on. */
function failedJob(job: ArchiveJob, e: unknown): ArchiveVerification {
  return { status: 'failed', failures: [{ check: 'digests', message: `could not be verified: ${describeError(e)}` }], frames: 0, bytes: job.size, clearCardData: [], approvals: [] };
}

/** The archive's approval events must agree with what the transparency log recorded about them. */
function checkApprovalsAgainstLog(inArchive: readonly ApprovalEvidence[], log: SessionLog | undefined, r: SessionReport, rb: ReportBuilder): void {
  const logged = log?.approvals ?? new Map<string, { commandHash: string; decided: { approver: string; decision: string }[] }>();
  for (const a of inArchive) {
    const l = logged.get(a.requestId);
    if (!l) {
      rb.fail('approvals', `request ${a.requestId} is not in the transparency log`, r);
      continue;
    }
    if (l.commandHash !== a.commandHash) rb.fail('approvals', `request ${a.requestId}: the log names another command hash than the archive`, r);
    const fromArchive = a.decisions.map((d) => `${d.approver}:${d.decision}`).sort().join(',');
    const fromLog = l.decided.map((d) => `${d.approver}:${d.decision}`).sort().join(',');
    if (fromArchive !== fromLog) rb.fail('approvals', `request ${a.requestId}: the log's decisions (${fromLog || 'none'}) differ from the archive's (${fromArchive || 'none'})`, r);
  }
  for (const id of logged.keys()) {
    if (!inArchive.some((a) => a.requestId === id)) rb.fail('approvals', `the log has request ${id} for this session, the archive does not`, r);
  }
}

function count(statuses: string[]): string {
  const m = new Map<string, number>();
  for (const s of statuses) m.set(s, (m.get(s) ?? 0) + 1);
  return [...m].map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
}

