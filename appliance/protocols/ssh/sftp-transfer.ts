/**
 * One file transfer (an SFTP handle's reads or writes, one scp file) as the `transfer` event records it:
 * the bytes that crossed the gateway and their SHA-256. The hash is only meaningful over bytes in file
 * order, so it is kept while every read or write starts where the previous one ended; the first that does
 * not (a client reading at random offsets, re-reading, writing holes) ends the hash, and the event says why
 * (`sha256: null`, `reason`) instead of giving a hash of some other byte sequence.
 */
import { createHash, type Hash } from 'node:crypto';
import type { TransferFields } from '../../../shared/evidence/events.ts';
import type { PipelineSession } from '../../pipeline/session.ts';

export type TransferOutcome = TransferFields['outcome'];

export class Transfer {
  bytes = 0;
  /** The offset the next sequential read or write starts at (the end of what was hashed). */
  private next = 0;
  private hash: Hash | undefined = createHash('sha256');
  private unhashed: string | undefined;
  private done = false;
  /** Why the transfer is noteworthy even when complete (clear card data allowed through). */
  note: string | undefined;

  constructor(
    private readonly session: PipelineSession,
    readonly path: string,
    readonly direction: 'upload' | 'download',
    private readonly where: { channel: number; command?: number | undefined },
  ) {}

  /** Bytes that crossed at `offset` of the file. */
  add(offset: number, data: Uint8Array): void {
    this.bytes += data.length;
    if (!this.hash) return;
    if (offset !== this.next) {
      this.hash = undefined;
      this.unhashed = `${this.direction === 'upload' ? 'writes' : 'reads'} were not sequential (offset ${offset} after ${this.next} bytes), so no hash of the file is given`;
      return;
    }
    this.hash.update(data);
    this.next += data.length;
  }

  /** Whether the bytes hashed so far are the file's first `size` bytes, in order. */
  hashedThrough(size: number): boolean {
    return this.hash !== undefined && this.next === size;
  }

  get finished(): boolean {
    return this.done;
  }

  /** Records the `transfer` event (once). `sha256` only for a complete transfer whose bytes were sequential. */
  finish(outcome: TransferOutcome, reason?: string): void {
    if (this.done) return;
    this.done = true;
    const sha256 = outcome === 'complete' && this.hash ? this.hash.digest('hex') : null;
    const why = [reason, outcome === 'complete' ? this.unhashed : undefined, this.note].filter((s): s is string => !!s).join('; ');
    this.session.record({
      type: 'transfer',
      channel: this.where.channel,
      ...(this.where.command !== undefined ? { command: this.where.command } : {}),
      path: this.session.masks.evidence(this.path),
      direction: this.direction,
      bytes: this.bytes,
      sha256,
      outcome,
      ...(why ? { reason: this.session.masks.evidence(why) } : {}),
    });
  }
}
