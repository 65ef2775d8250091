/**
 * Verifies a bundle offline against a pinned trust file — the one procedure both `vigil verify` and the
 * viewer run, so they cannot disagree. Order: structure → keys → signed statements → log (root rebuilt
 * from the entries, consistency with the pinned checkpoint) → session completeness → every archive.
 */
import { fromHex, fromUtf8, toHex } from '../../bytes.ts';
import { describeError } from '../../errors.ts';
import { checkBundleMembers } from '../bundle-members.ts';
import { compareTimes } from '../time-order.ts';
import { CompactRange, leafHash, verifyConsistency } from '../../merkle/index.ts';
import {
  BUNDLE_FILES,
  bundleManifestSchema,
  consistencyProofsSchema,
  logPrefixSchema,
  type BundleManifest,
} from '../bundle-format.ts';
import type { ByteSource } from '../byte-source.ts';
import { readCheckpoint, type Checkpoint } from '../checkpoint.ts';
import type { EvidenceEvent } from '../events.ts';
import { KeyChain } from '../key-chain.ts';
import { parseLogEntry, type LogEntry } from '../log-entry.ts';
import { SIGNED_LABELS, bundleManifestEnvelopeSchema, parseJson, parseSigned, parseWith, signedEnvelopeSchema, verifyEnvelopeSignature, type SignedEnvelope, type SignedLabel } from '../signed.ts';
import { readTarIndex, type TarMember } from '../tar.ts';
import type { TrustFile } from '../trust.ts';
import { ReportBuilder, type VerificationReport } from './report.ts';
import { collectRetention } from './retention-log.ts';
import { collect, type SessionLog } from './session-log.ts';
import type { Anchor, ArchiveVerification, AuditorSecret } from './verify-archive.ts';
import { verifySessions } from './verify-sessions.ts';
import { verdictOf } from './verdict.ts';
import { issuedCredential, type IssuedCredential } from './credentials.ts';
import { configChange, type ConfigChange } from './config-changes.ts';

/** Credentials listed in the report at most (a flood of issuance cannot grow the report without bound). */
const MAX_CREDENTIALS = 10_000;

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

export async function verifyBundle(src: ByteSource, trust: TrustFile, opts: BundleVerifyOptions = {}): Promise<VerificationReport> {
  const rb = new ReportBuilder();
  const withKey = opts.auditor !== undefined;
  const pinned = readCheckpoint(trust.checkpoint);
  const report: VerificationReport = {
    ok: false,
    verdict: verdictOf({ checks: [], fatal: 'not verified yet', withKey }),
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
  if (report.fatal) {
    // Nothing read before the fatal error may stand as a positive claim (sessions, approvals).
    report.sessions = [];
    delete report.approvals;
  }
  rb.finish(report);
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
  checkBundleMembers(members, manifest);
  checkSigned(SIGNED_LABELS.bundleManifest, manifestEnv, manifest.createdAt, 'bundle manifest');
  const cpEnv = parseWith(signedEnvelopeSchema, await readJson(BUNDLE_FILES.checkpoint), BUNDLE_FILES.checkpoint);
  const cp = readCheckpoint(cpEnv);
  checkSigned(SIGNED_LABELS.checkpoint, cpEnv, cp.time, `checkpoint (size ${cp.size})`);
  // The report names the statement's key: it must be the one that signed (evidence-format §8.2).
  if (cp.keyId !== cpEnv.keyId) rb.fail('signatures', `checkpoint (size ${cp.size}): the statement names key ${cp.keyId} but key ${cpEnv.keyId} signed it`);
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

  const { sessions, rootAtPinned, credentials, configChanges } = await verifyLog(src, need, readJson, manifest, cp, pinned.size, rb);
  report.credentials = credentials;
  report.configChanges = configChanges;
  checkConsistency(await readJson(BUNDLE_FILES.consistency), cp, pinned, rootAtPinned, rb);
  const archiveSigs = await verifySessions(src, byName, manifest, sessions, keys, opts, rb, report);
  // The bundle manifest, the checkpoint and one manifest per listed archive: a missing archive's is not verified.
  const expectedSigs = 2 + manifest.archives.length;
  rb.summary('signatures', `bundle manifest and checkpoint: ${signatures} of 2; archive manifests: ${archiveSigs} of ${manifest.archives.length}`);
  rb.cover('signatures', signatures + archiveSigs, expectedSigs, 'signature');
  rb.summary('key-chain', `${keys.list().length} key(s): ${trust.keys.length} pinned, ${keys.rotationsFollowed} rotation(s) followed`);
  rb.cover('key-chain', keys.list().length, keys.list().length, 'key');
}

/**
 * Rebuilds the checkpoint root from prefix hashes + entries; returns what the entries say per session and,
 * when the pinned size lies in [from, size] and the entries rebuild the checkpoint root, the root they give
 * at the pinned size (proving consistency with the pin as a proof would).
 */
async function verifyLog(
  src: ByteSource,
  need: (n: string) => TarMember,
  readJson: (n: string) => Promise<unknown>,
  manifest: BundleManifest,
  cp: Checkpoint,
  pinnedSize: number,
  rb: ReportBuilder,
): Promise<{ sessions: Map<string, SessionLog>; rootAtPinned?: string; credentials: IssuedCredential[]; configChanges: ConfigChange[] }> {
  const prefix = parseWith(logPrefixSchema, await readJson(BUNDLE_FILES.prefix), BUNDLE_FILES.prefix);
  const sessions = new Map<string, SessionLog>();
  const credentials: IssuedCredential[] = [];
  const configChanges: ConfigChange[] = [];
  const get = (id: string): SessionLog => {
    let s = sessions.get(id);
    if (!s) sessions.set(id, (s = { anchors: [], approvals: new Map() }));
    return s;
  };
  if (prefix.size !== manifest.log.from) {
    rb.fail('log-inclusion', `log prefix covers ${prefix.size} entries but the entries start at ${manifest.log.from}`);
    return { sessions, credentials, configChanges };
  }
  let range: CompactRange;
  try {
    range = CompactRange.fromHashes(0, prefix.size, prefix.hashes.map(fromHex));
  } catch (e) {
    rb.fail('log-inclusion', `log prefix: ${describeError(e)}`);
    return { sessions, credentials, configChanges };
  }
  let rootAtPinned = range.end === pinnedSize ? toHex(range.root()) : undefined;
  let expected = manifest.log.from;
  let lastTime = '';
  let first: LogEntry | undefined;
  let structural: string | undefined;
  for await (const line of lines(src, need(BUNDLE_FILES.entries))) {
    range.append(leafHash(line));
    if (range.end === pinnedSize) rootAtPinned = toHex(range.root());
    if (structural) continue;
    let e: LogEntry;
    try {
      e = parseLogEntry(fromUtf8(line), expected);
      if (e.i !== expected) throw new Error(`log entry ${expected}: carries index ${e.i}`);
      if (compareTimes(e.t, lastTime) < 0) throw new Error(`log entry ${e.i}: time ${e.t} runs backwards`);
      collect(e, get);
      collectRetention(e, get);
      const issued = issuedCredential(e);
      if (issued && credentials.length < MAX_CREDENTIALS) credentials.push(issued);
      const changed = configChange(e);
      if (changed && configChanges.length < MAX_CREDENTIALS) configChanges.push(changed);
    } catch (err) {
      structural = describeError(err);
      continue;
    }
    first ??= e;
    lastTime = e.t;
    expected++;
  }
  if (structural) rb.fail('log-inclusion', structural);
  let rebuilt = false;
  if (range.end !== cp.size) {
    rb.fail('log-inclusion', `the bundle holds log entries up to ${range.end}, the checkpoint covers ${cp.size}: entries were removed or added`);
  } else if (toHex(range.root()) !== cp.root) {
    rb.fail('log-inclusion', 'the log entries do not hash to the signed checkpoint root: an entry was altered, removed, reordered or added');
  } else {
    rebuilt = true;
  }
  const since = manifest.range.since;
  if (since && first && manifest.log.from > 0 && compareTimes(first.t, since) >= 0) {
    rb.fail('log-inclusion', `the log excerpt starts inside the export window (entry ${first.i} at ${first.t}): earlier entries of the window are not shown`);
  }
  rb.summary('log-inclusion', `${cp.size - manifest.log.from} log entries (from ${manifest.log.from}) rebuild checkpoint ${cp.size}'s root`);
  rb.cover('log-inclusion', range.end - manifest.log.from, cp.size - manifest.log.from, 'log entry');
  return rebuilt && rootAtPinned !== undefined ? { sessions, rootAtPinned, credentials, configChanges } : { sessions, credentials, configChanges };
}

/** Splits a member into lines (without the newline), never holding more than one chunk plus a line. */
export async function* lines(src: ByteSource, m: TarMember): AsyncGenerator<Uint8Array> {
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

function checkConsistency(raw: unknown, cp: Checkpoint, pinned: Checkpoint, rootAtPinned: string | undefined, rb: ReportBuilder): void {
  const proofs = parseWith(consistencyProofsSchema, raw, BUNDLE_FILES.consistency);
  // Every proof shipped must hold, not only the one the pinned checkpoint needs.
  for (const p of proofs) {
    if (p.fromSize > cp.size || !verifyConsistency(p.fromSize, cp.size, fromHex(p.fromRoot), fromHex(cp.root), p.proof.map(fromHex))) {
      rb.fail('log-consistency', `the consistency proof from checkpoint size ${p.fromSize} does not verify`);
    }
  }
  if (pinned.applianceId !== cp.applianceId) return; // reported as a key-chain failure already
  if (pinned.size > cp.size) {
    if (compareTimes(cp.time, pinned.time) > 0) {
      rb.fail('log-consistency', `log rolled back: the pinned checkpoint (${pinned.time}) has ${pinned.size} entries, this later checkpoint (${cp.time}) only ${cp.size}`);
    } else {
      rb.summary('log-consistency', `not checkable: this bundle (checkpoint ${cp.size}) predates the pinned checkpoint (${pinned.size})`);
      rb.cover('log-consistency', 0, 1, 'checkpoint'); // nothing proves this log is the one pinned: partial
    }
    return;
  }
  if (pinned.size === cp.size) {
    if (pinned.root !== cp.root) rb.fail('log-consistency', `checkpoint ${cp.size} has another root than the pinned checkpoint of the same size: the log was rewritten`);
    else rb.summary('log-consistency', `checkpoint ${cp.size} is the pinned checkpoint`);
    rb.cover('log-consistency', 1, 1, 'checkpoint');
    return;
  }
  // Two ways to prove the log at cp extends the pinned one: the shipped proof from the pinned size, and —
  // when the excerpt reaches back to the pinned size — the root the entries themselves give there. Each
  // one present must hold; at least one must be present.
  const p = proofs.find((x) => x.fromSize === pinned.size);
  const how: string[] = [];
  let failed = false;
  if (p) {
    if (p.fromRoot !== pinned.root) {
      rb.fail('log-consistency', `the log's checkpoint ${pinned.size} has another root than the pinned one: the log was rewritten`);
      failed = true;
    } else if (!verifyConsistency(pinned.size, cp.size, fromHex(pinned.root), fromHex(cp.root), p.proof.map(fromHex))) {
      rb.fail('log-consistency', `checkpoint ${cp.size} is not consistent with the pinned checkpoint ${pinned.size}: the log was rewritten or rolled back`);
      failed = true;
    } else {
      how.push('consistency proof');
    }
  }
  if (rootAtPinned !== undefined) {
    if (rootAtPinned !== pinned.root) {
      rb.fail('log-consistency', `the log entries rebuild another root at the pinned size ${pinned.size}: the log was rewritten`);
      failed = true;
    } else {
      how.push(`root at size ${pinned.size} rebuilt from the entries`);
    }
  }
  if (!p && rootAtPinned === undefined) {
    rb.fail('log-consistency', `the bundle carries no consistency proof from the pinned checkpoint (size ${pinned.size})`);
    return;
  }
  if (failed) return;
  rb.summary('log-consistency', `checkpoint ${cp.size} extends the pinned checkpoint ${pinned.size} (${how.join('; ')})`);
  rb.cover('log-consistency', 1, 1, 'checkpoint');
}
