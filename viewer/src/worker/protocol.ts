/** Messages between the renderer and the verification worker. */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import type { EventRow } from '../model/event-table.ts';
import type { SessionDigest, VerificationReport } from '../model/types.ts';

export type WorkerRequest =
  | { id: number; op: 'open'; bundle: Blob | { url: string; size: number }; trustText: string }
  | { id: number; op: 'unlock'; keyText: string; passphrase?: string }
  | { id: number; op: 'lock' }
  | { id: number; op: 'verify' }
  | { id: number; op: 'sha256' }
  | { id: number; op: 'events'; sessionId: string }
  | { id: number; op: 'eventRows'; sessionId: string };

export interface WorkerResults {
  open: { size: number };
  unlock: { keyId: string };
  lock: Record<string, never>;
  verify: { report: VerificationReport; digests: SessionDigest[]; ms: number };
  events: { events: EvidenceEvent[]; note?: string };
  /** The event table's rows of one session, built in the worker (its output bytes never cross over). */
  eventRows: { rows: EventRow[] };
  sha256: { sha256: string };
}

export type WorkerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string } }
  | { id: number; progress: { done: number; total: number } };
