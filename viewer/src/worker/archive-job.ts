/**
 * One archive, verified with the shared verifier and digested for the UI: what each worker of the pool
 * runs (and what tests run in Node). Events are kept for the replay cache up to a byte budget.
 */
import { sliceSource, type ByteSource } from '../../../shared/evidence/byte-source.ts';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import type { KeyChain } from '../../../shared/evidence/key-chain.ts';
import type { ArchiveJob } from '../../../shared/evidence/verify/verify-bundle.ts';
import { verifyArchive, type ArchiveVerification, type AuditorSecret } from '../../../shared/evidence/verify/verify-archive.ts';
import { DigestBuilder } from '../model/digest.ts';
import type { SessionDigest } from '../model/types.ts';

export const EVENT_OVERHEAD = 160;

export interface ArchiveOutcome {
  verification: ArchiveVerification;
  digest?: SessionDigest;
  /** The decrypted events, when they fit in `keepBytes`. */
  events?: EvidenceEvent[];
  eventBytes: number;
}

export async function runArchiveJob(
  src: ByteSource,
  job: ArchiveJob,
  keys: KeyChain,
  auditor: AuditorSecret | undefined,
  keepBytes: number,
  onProgress?: (n: number) => void,
): Promise<ArchiveOutcome> {
  const builder = auditor ? new DigestBuilder(job.sessionId) : undefined;
  let events: EvidenceEvent[] | undefined = [];
  let eventBytes = 0;
  const verification = await verifyArchive(sliceSource(src, job.offset, job.size), {
    keys,
    anchors: job.anchors,
    webCryptoDigests: true,
    ...(auditor ? { auditor } : {}),
    ...(onProgress ? { onProgress } : {}),
    onEvents: (evs) => {
      builder?.add(evs);
      for (const e of evs) eventBytes += EVENT_OVERHEAD + (e.data?.length ?? 0);
      if (events && eventBytes > keepBytes) events = undefined;
      else events?.push(...evs);
    },
  });
  return { verification, ...(builder ? { digest: builder.digest } : {}), ...(events && auditor ? { events } : {}), eventBytes };
}
