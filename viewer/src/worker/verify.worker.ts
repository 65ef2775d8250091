/**
 * The verification Web Worker: all cryptography and decoding happens here, so the window stays responsive
 * while a multi-gigabyte bundle is verified. Holds the bundle (a File, read by ranges), the unlocked
 * auditor key and the decrypted events in memory only.
 */
import { VigilError, describeError } from '../../../shared/errors.ts';
import { BundleEngine, blobSource, urlSource } from './engine.ts';
import { createWorkerPool } from './pool.ts';
import type { WorkerRequest, WorkerResponse } from './protocol.ts';

declare const self: { postMessage(m: unknown, transfer?: Transferable[]): void; onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null };

let engine: BundleEngine | undefined;

function reply(m: WorkerResponse, transfer: Transferable[] = []): void {
  self.postMessage(m, transfer);
}

function need(): BundleEngine {
  if (!engine) throw new VigilError('E_STATE', 'open a bundle first');
  return engine;
}

self.onmessage = async (ev: MessageEvent<WorkerRequest>) => {
  const req = ev.data;
  try {
    switch (req.op) {
      case 'open': {
        engine?.close();
        const source = req.bundle instanceof Blob ? blobSource(req.bundle) : urlSource(req.bundle.url, req.bundle.size);
        // Archives are verified by a pool of workers, one per core (at most 4): decryption is the heavy part.
        const cores = Math.min(4, Math.max(1, navigator.hardwareConcurrency || 2) + 1);
        engine = new BundleEngine(source, req.trustText, { makePool: createWorkerPool(req.bundle, cores) });
        reply({ id: req.id, ok: true, result: { size: req.bundle.size } });
        break;
      }
      case 'unlock':
        reply({ id: req.id, ok: true, result: await need().unlock({ text: req.keyText, ...(req.passphrase ? { passphrase: req.passphrase } : {}) }) });
        break;
      case 'lock':
        need().lock();
        reply({ id: req.id, ok: true, result: {} });
        break;
      case 'verify': {
        const t0 = performance.now();
        let last = 0;
        const r = await need().verify((done, total) => {
          const now = performance.now();
          if (now - last < 50 && done < total) return;
          last = now;
          reply({ id: req.id, progress: { done, total } });
        });
        reply({ id: req.id, ok: true, result: { ...r, ms: performance.now() - t0 } });
        break;
      }
      case 'sha256': {
        let last = 0;
        const sha256 = await need().sha256((done, total) => {
          const now = performance.now();
          if (now - last < 100 && done < total) return;
          last = now;
          reply({ id: req.id, progress: { done, total } });
        });
        reply({ id: req.id, ok: true, result: { sha256 } });
        break;
      }
      case 'events': {
        const r = await need().sessionEvents(req.sessionId);
        reply({ id: req.id, ok: true, result: r });
        break;
      }
      case 'eventRows':
        reply({ id: req.id, ok: true, result: { rows: await need().sessionEventRows(req.sessionId) } });
        break;
    }
  } catch (e) {
    const code = e instanceof VigilError ? e.code : 'E_INTERNAL';
    reply({ id: req.id, ok: false, error: { code, message: describeError(e) } });
  }
};
