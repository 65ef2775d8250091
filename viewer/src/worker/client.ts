/** The renderer's handle on the verification worker: typed requests, progress callbacks. */
import type { WorkerRequest, WorkerResponse, WorkerResults } from './protocol.ts';

type Pending = { resolve: (v: unknown) => void; reject: (e: WorkerError) => void; progress?: (done: number, total: number) => void };

export class WorkerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Body<K extends WorkerRequest['op']> = Omit<Extract<WorkerRequest, { op: K }>, 'id' | 'op'>;

export class VerifierClient {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<number, Pending>();

  constructor() {
    this.worker = new Worker(new URL('./verify.worker.ts', import.meta.url), { type: 'module', name: 'vigil-verifier' });
    this.worker.onmessage = (ev: MessageEvent<WorkerResponse>) => {
      const m = ev.data;
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('progress' in m) return p.progress?.(m.progress.done, m.progress.total);
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new WorkerError(m.error.code, m.error.message));
    };
    this.worker.onerror = (ev) => {
      const err = new WorkerError('E_WORKER', `the verification worker stopped: ${ev.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  call<K extends WorkerRequest['op']>(op: K, body: Body<K>, progress?: (done: number, total: number) => void): Promise<WorkerResults[K]> {
    const id = this.next++;
    return new Promise<WorkerResults[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(progress ? { progress } : {}) });
      this.worker.postMessage({ id, op, ...body } as WorkerRequest);
    });
  }

  terminate(): void {
    this.worker.terminate();
  }
}
