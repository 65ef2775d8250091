/**
 * Verifies one session archive. Without an auditor key: structure, header digest, frame chain, frame
 * count, manifest signature (key valid at sealing time), and the chain positions the transparency log
 * anchored. With a key: also decrypts every frame (associated data binds header and position), enforces
 * TAG_FINAL on complete archives, checks event numbering and re-scans the plaintext for clear card data.
 */
import { fromBase64, toHex, utf8 } from '../../bytes.ts';
import { crypto, type SecretStreamPull } from '../../crypto/backend.ts';
import { sha256Parts } from '../../crypto/hash.ts';
import { webCryptoSha256 } from '../../crypto/web-digest.ts';
import { describeError } from '../../errors.ts';
import { maskedMatchDigits } from '../../pan/index.ts';
import { rescanFrame } from './pan-rescan.ts';
import { StreamRescan } from './stream-rescan.ts';
import { chainStep, frameAd, type ArchiveHeader, type ArchiveManifest } from '../archive-format.ts';
import { readArchiveRecords } from '../archive-reader.ts';
import type { ByteSource } from '../byte-source.ts';
import { decodeEvents, type EvidenceEvent } from '../events.ts';
import type { KeyChain } from '../key-chain.ts';
import { SIGNED_LABELS, verifyEnvelopeSignature } from '../signed.ts';
import { ApprovalCollector, type ApprovalEvidence } from './approval-evidence.ts';
import type { Failure } from './checks.ts';
import { IdentityCollector, type IdentityFacts } from './session-identity.ts';

export interface AuditorSecret {
  keyId: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** A chain position the transparency log attests for this session. */
export interface Anchor {
  frames: number;
  chainHead: string;
  logIndex?: number;
}

export interface ArchiveVerifyOptions {
  keys: KeyChain;
  auditor?: AuditorSecret;
  anchors?: readonly Anchor[];
  onEvents?: (events: EvidenceEvent[], frame: number) => void;
  onProgress?: (bytesDone: number) => void;
  /**
   * Hash frames with WebCrypto (`crypto.subtle.digest`) instead of the crypto backend: the same SHA-256,
   * computed asynchronously — in a browser on another thread, while this one decrypts. The viewer sets it;
   * `vigil verify` keeps the backend's synchronous hash.
   */
  webCryptoDigests?: boolean;
}

export interface ArchiveVerification {
  status: 'complete' | 'interrupted' | 'failed';
  failures: Failure[];
  header?: ArchiveHeader;
  manifest?: ArchiveManifest;
  /** SHA-256 of the manifest's signed text; what the log's session end entry names. */
  manifestDigest?: string;
  frames: number;
  bytes: number;
  /** Events decrypted and checked (with a key). */
  events?: number;
  /** Greatest `t` (ms since the header's createdAt) of the decrypted events: when the last durable event happened. */
  lastEventT?: number;
  /** Clear card data found by the re-scan, masked. */
  clearCardData: string[];
  /** Held commands and their approvals (with a key). */
  approvals: ApprovalEvidence[];
  /** What the decrypted events say about identity, target and protocol (with a key, every frame read). */
  identity?: IdentityFacts;
}

const MAX_REPORTED_FINDINGS = 10;

export async function verifyArchive(src: ByteSource, opts: ArchiveVerifyOptions): Promise<ArchiveVerification> {
  const out: ArchiveVerification = { status: 'failed', failures: [], frames: 0, bytes: src.size, clearCardData: [], approvals: [] };
  let approvals: ApprovalCollector | undefined;
  let identity: IdentityCollector | undefined;
  const streams = new StreamRescan();
  const fail = (check: Failure['check'], message: string) => out.failures.push({ check, message });
  const anchors = new Map<number, Anchor[]>();
  for (const a of opts.anchors ?? []) anchors.set(a.frames, [...(anchors.get(a.frames) ?? []), a]);

  let header: ArchiveHeader | undefined;
  let headerDigest: Uint8Array = new Uint8Array(0);
  let chain: Uint8Array = new Uint8Array(0);
  let pull: SecretStreamPull | undefined;
  let decrypting = opts.auditor !== undefined;
  let lastFinal = false;
  let finalAt = -1;
  let nextSeq = 0;
  let cardFindings = 0;
  // Frame digests in flight (webCryptoDigests): folded into the chain in frame order by drain(), which
  // leaves the newest `keep` in flight so decryption goes on while the crypto thread hashes them.
  const pending: Promise<Uint8Array>[] = [];
  let hashed = 0;
  const drain = async (keep = 0): Promise<void> => {
    while (pending.length > keep) {
      chain = chainStep(chain, await pending.shift()!);
      checkAnchors(++hashed);
    }
  };

  try {
    for await (const rec of readArchiveRecords(src)) {
      if (rec.kind === 'header') {
        header = out.header = rec.header;
        headerDigest = rec.digest;
        chain = rec.digest;
        checkAnchors(0);
        if (opts.auditor) pull = openStream(rec.header, opts.auditor, fail);
        approvals = new ApprovalCollector(rec.header.sessionId);
        identity = new IdentityCollector();
        decrypting = pull !== undefined;
      } else if (rec.kind === 'frame') {
        out.frames = rec.index + 1;
        if (opts.webCryptoDigests) {
          pending.push(webCryptoSha256(...contiguous(rec.prefix, rec.body)));
          if (pending.length >= 64) await drain(32);
        } else {
          chain = chainStep(chain, sha256Parts(rec.prefix, rec.body));
          checkAnchors(++hashed);
        }
        if (decrypting && pull) decryptFrame(rec.index, rec.body);
        opts.onProgress?.(rec.offset + rec.prefix.length + rec.body.length);
      } else {
        await drain();
        out.manifest = rec.manifest;
        out.manifestDigest = toHex(sha256Parts(utf8(rec.envelope.signed)));
        checkManifest(rec.manifest, rec.offset, rec.envelope);
      }
    }
  } catch (e) {
    fail('digests', describeError(e));
  }
  try {
    await drain();
  } catch (e) {
    fail('digests', describeError(e));
  }

  for (const [frames, list] of anchors) {
    if (frames > out.frames) {
      fail('digests', `the log attests ${frames} frames (entry ${list[0]!.logIndex ?? '?'}) but the archive has ${out.frames}: frames the log saw are missing`);
    }
  }
  if (opts.auditor && pull && out.manifest && decrypting) {
    if (out.manifest.outcome === 'complete' && !lastFinal) {
      fail('tag-final', `the last frame (${out.frames - 1}) is not TAG_FINAL: the archive was cut short`);
    }
    if (out.manifest.events !== undefined && nextSeq !== out.manifest.events && out.manifest.outcome === 'complete') {
      fail('decryption', `the manifest counts ${out.manifest.events} events but the frames hold ${nextSeq}`);
    }
    out.events = nextSeq;
    if (identity) out.identity = identity.finish();
    if (approvals) {
      const reg = approvals.finish({ complete: out.manifest.outcome === 'complete' });
      out.approvals = reg.approvals;
      for (const p of reg.problems) fail('approvals', p);
    }
  }
  if (cardFindings > out.clearCardData.length) out.clearCardData.push(`… and ${cardFindings - out.clearCardData.length} more`);
  out.status = out.failures.length > 0 ? 'failed' : out.manifest!.outcome;
  return out;

  function checkAnchors(frames: number): void {
    for (const a of anchors.get(frames) ?? []) {
      if (a.chainHead !== toHex(chain)) {
        fail('digests', `frame ${frames - 1}: chain head differs from the one the log anchored (entry ${a.logIndex ?? '?'}): frames up to here were altered`);
      }
    }
  }

  function decryptFrame(index: number, body: Uint8Array): void {
    if (finalAt >= 0) {
      fail('tag-final', `frame ${finalAt} carries TAG_FINAL but frame ${index} follows it`);
      decrypting = false;
      return;
    }
    let plain: Uint8Array;
    try {
      const r = pull!.pull(body, frameAd(headerDigest, index));
      plain = r.message;
      lastFinal = r.final;
      if (r.final) finalAt = index;
    } catch {
      fail('decryption', `frame ${index}: decryption failed (frame altered, reordered, dropped before it, or spliced from another archive)`);
      decrypting = false;
      return;
    }
    let events: EvidenceEvent[];
    try {
      events = decodeEvents(plain);
    } catch (e) {
      fail('decryption', `frame ${index}: ${describeError(e)}`);
      decrypting = false;
      return;
    }
    for (const ev of events) {
      if (ev.seq !== nextSeq) {
        fail('decryption', `frame ${index}: event ${ev.seq} where ${nextSeq} was expected`);
        decrypting = false;
        return;
      }
      nextSeq++;
      if (typeof ev.t === 'number' && ev.t > (out.lastEventT ?? -1)) out.lastEventT = ev.t;
    }
    // At least as strict as the recorder, which masks what it records in strict mode (pan-rescan.ts), and
    // across the events of one stream, as a streaming masker must (stream-rescan.ts).
    const findings = [...rescanFrame(plain, events), ...streams.add(events)];
    for (const f of findings) {
      const m = f.match;
      cardFindings++;
      if (out.clearCardData.length < MAX_REPORTED_FINDINGS) {
        const what =
          m.kind === 'security-code' || m.kind === 'pin'
            ? `${m.kind === 'pin' ? 'PIN' : 'card security code'} (after "${m.keyword}")`
            : m.kind === 'pan'
              ? `${m.brand ?? 'card'} number ${maskedMatchDigits(f.input, m)}`
              : `${m.kind === 'track1' ? 'track 1' : 'track 2'} data`;
        const where = 'stream' in f ? ` split across ${f.stream}` : '';
        out.clearCardData.push(`frame ${index}: clear ${what}${where}`);
        fail('pan-rescan', `frame ${index}: clear ${what}${where} in recorded content`);
      }
    }
    approvals?.add(events);
    identity?.add(events);
    opts.onEvents?.(events, index);
  }

  function checkManifest(m: ArchiveManifest, trailerOffset: number, env: { keyId: string; signed: string; sig: string }): void {
    if (!header) return;
    const key = opts.keys.resolve(env.keyId, m.sealedAt);
    if (!key.ok) fail('key-chain', `manifest: ${key.reason}`);
    else if (!verifyEnvelopeSignature(SIGNED_LABELS.archiveManifest, env, key.key.publicKey)) {
      fail('signatures', 'manifest signature does not verify (trailer altered or signed by another key)');
    }
    if (m.sessionId !== header.sessionId || m.sessionSeq !== header.sessionSeq || m.applianceId !== header.applianceId) {
      fail('digests', 'manifest names another session than the header (archive spliced)');
    }
    if (m.headerDigest !== toHex(headerDigest)) fail('digests', 'header digest differs from the signed manifest: the header was altered');
    if (m.frames !== out.frames) {
      fail('digests', `the signed manifest counts ${m.frames} frames, the archive holds ${out.frames}: frames were ${m.frames > out.frames ? 'removed' : 'added'}`);
    } else if (m.chainHead !== toHex(chain)) {
      fail('digests', 'frame chain differs from the signed manifest: a frame was altered, reordered, replaced or duplicated');
    }
    if (m.archiveBytes !== trailerOffset) fail('digests', `manifest says the trailer starts at ${m.archiveBytes}, found at ${trailerOffset}`);
  }
}

/** prefix ‖ body as one view when the reader's buffer holds them side by side (it usually does), else both parts. */
function contiguous(prefix: Uint8Array, body: Uint8Array): Uint8Array[] {
  const p = prefix.length;
  if (body.byteOffset >= p) {
    const whole = new Uint8Array(body.buffer, body.byteOffset - p, body.length + p);
    let same = true;
    for (let i = 0; i < p; i++) same &&= whole[i] === prefix[i];
    if (same) return [whole];
  }
  return [prefix, body];
}

function openStream(header: ArchiveHeader, auditor: AuditorSecret, fail: (c: Failure['check'], m: string) => void): SecretStreamPull | undefined {
  const recipient = header.recipients.find((r) => r.keyId === auditor.keyId);
  if (!recipient) {
    fail('decryption', `not sealed to auditor key ${auditor.keyId} (sealed to ${header.recipients.map((r) => r.keyId).join(', ')})`);
    return undefined;
  }
  try {
    const key = crypto().boxSealOpen(fromBase64(recipient.sealedKey), auditor.publicKey, auditor.secretKey);
    const pull = crypto().secretstreamInitPull(key, fromBase64(header.stream.header));
    key.fill(0);
    return pull;
  } catch {
    fail('decryption', `the session key sealed to auditor key ${auditor.keyId} does not open (header altered or wrong key)`);
    return undefined;
  }
}
