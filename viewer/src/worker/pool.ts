/**
 * The archive pool: a few Web Workers, each verifying whole archives with the shared verifier, so a
 * bundle of many sessions is verified on every core (the bundle-level checks stay in the main worker).
 */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import type { ArchiveJob, ArchivePool } from '../../../shared/evidence/verify/verify-bundle.ts';
import type { ArchiveVerification } from '../../../shared/evidence/verify/verify-archive.ts';
import type { ArchiveOutcome } from './archive-job.ts';
import type { ArchiveWorkerRequest } from './archive.worker.ts';
import type { PoolContext } from './engine.ts';

type Reply = { id: number; progress?: number; result?: ArchiveOutcome; error?: string };

export function createWorkerPool(bundle: Blob | { url: string; size: number }, size: number): (ctx: PoolContext) => ArchivePool & { close(): void } {
  return (ctx) => {
    const workers = Array.from({ length: size }, (_, i) => {
      const w = new Worker(new URL('./archive.worker.ts', import.meta.url), { type: 'module', name: `vigil-archive-${i + 1}` });
      w.postMessage({ op: 'init', bundle, trustText: ctx.trustText, rotations: ctx.rotations, ...(ctx.auditor ? { auditor: ctx.auditor } : {}) } satisfies ArchiveWorkerRequest);
      return { w, busy: 0 };
    });
    const pending = new Map<number, { resolve: (v: ArchiveVerification) => void; reject: (e: Error) => void; progress: (n: number) => void; job: ArchiveJob }>();
    let next = 1;
    for (const slot of workers) {
      slot.w.onmessage = (ev: MessageEvent<Reply>) => {
        const r = ev.data;
        const p = pending.get(r.id);
        if (!p) return;
        if (r.progress !== undefined) return p.progress(r.progress);
        pending.delete(r.id);
        slot.busy--;
        if (r.error !== undefined || !r.result) return p.reject(new Error(r.error ?? 'archive worker failed'));
        ctx.onArchive(p.job.sessionId, r.result.digest, r.result.events as EvidenceEvent[] | undefined, r.result.eventBytes);
        p.resolve(r.result.verification);
      };
      slot.w.onerror = (ev) => {
        ev.preventDefault();
        for (const [id, p] of pending) {
          pending.delete(id);
          p.reject(new Error(`the verification worker stopped: ${ev.message || 'out of memory?'}`));
        }
      };
    }
    return {
      concurrency: size * 2, // one queued behind each running job: no worker waits for the next read
      verify(job, progress) {
        const slot = workers.reduce((a, b) => (b.busy < a.busy ? b : a));
        slot.busy++;
        const id = next++;
        return new Promise<ArchiveVerification>((resolve, reject) => {
          pending.set(id, { resolve, reject, progress, job });
          slot.w.postMessage({ op: 'job', id, job, keepBytes: ctx.keepBytes } satisfies ArchiveWorkerRequest);
        });
      },
      close() {
        for (const s of workers) s.w.terminate();
      },
    };
  };
}
