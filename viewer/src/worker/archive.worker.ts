/**
 * A worker of the archive pool: verifies (and decrypts) whole archives with the shared verifier, in
 * parallel with its siblings, and sends back the result, the session digest and — when small enough —
 * the decrypted events (transferred, not copied).
 */
import { VigilError, describeError } from '../../../shared/errors.ts';
import { initCrypto } from '../../../shared/crypto/backend.ts';
import type { ByteSource } from '../../../shared/evidence/byte-source.ts';
import { KeyChain } from '../../../shared/evidence/key-chain.ts';
import type { SignedEnvelope } from '../../../shared/evidence/signed.ts';
import { parseTrustFile } from '../../../shared/evidence/trust.ts';
import type { ArchiveJob } from '../../../shared/evidence/verify/verify-bundle.ts';
import type { AuditorSecret } from '../../../shared/evidence/verify/verify-archive.ts';
import { runArchiveJob } from './archive-job.ts';
import { blobSource, urlSource } from './engine.ts';

export type ArchiveWorkerRequest =
  | { op: 'init'; bundle: Blob | { url: string; size: number }; trustText: string; rotations: SignedEnvelope[]; auditor?: AuditorSecret }
  | { op: 'job'; id: number; job: ArchiveJob; keepBytes: number };

declare const self: { postMessage(m: unknown, transfer?: Transferable[]): void; onmessage: ((ev: MessageEvent<ArchiveWorkerRequest>) => void) | null };

let ready: Promise<{ src: ByteSource; keys: KeyChain; auditor?: AuditorSecret }> | undefined;

self.onmessage = async (ev) => {
  const m = ev.data;
  if (m.op === 'init') {
    // Jobs may arrive before this resolves: they wait for it.
    ready = initCrypto().then(() => ({
      src: m.bundle instanceof Blob ? blobSource(m.bundle) : urlSource(m.bundle.url, m.bundle.size),
      keys: new KeyChain(parseTrustFile(m.trustText), m.rotations),
      ...(m.auditor ? { auditor: m.auditor } : {}),
    }));
    return;
  }
  try {
    if (!ready) throw new VigilError('E_STATE', 'archive worker not initialised');
    const ctx = await ready;
    let last = 0;
    const out = await runArchiveJob(ctx.src, m.job, ctx.keys, ctx.auditor, m.keepBytes, (n) => {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      self.postMessage({ id: m.id, progress: n });
    });
    // Event data are views of their frame's plaintext: transfer each buffer once.
    const transfer = [...new Set((out.events ?? []).flatMap((e) => (e.data ? [e.data.buffer as ArrayBuffer] : [])))];
    self.postMessage({ id: m.id, result: out }, transfer);
  } catch (e) {
    self.postMessage({ id: m.id, error: describeError(e) });
  }
};
