/**
 * Where an archive writer's bytes go. The writer decides what the bytes are (frames, trailer) and their
 * offsets; a sink decides when they reach the disk. `DirectSink` writes and fsyncs the archive file
 * itself; the journal sink (journal.ts) makes many sessions' commands durable with one write and one
 * fdatasync of a shared journal — group commit across sessions.
 */
import { closeSync, fdatasync, writeSync } from 'node:fs';
import { VigilError } from '../../shared/errors.ts';

export interface ArchiveSink {
  /** Queues `record` to be placed at `offset` of the archive (records arrive in offset order). */
  append(record: Uint8Array, offset: number): void;
  /** Resolves once everything appended so far is durable (as the sink's mode defines it). */
  commit(): Promise<void>;
  /** Writes what is left and the trailer, makes the archive file durable, closes it. */
  finish(trailer: Uint8Array, offset: number): Promise<void>;
  /** Closes without a trailer, as a crash would. */
  abandon(): void;
}

export function writeAll(fd: number, b: Uint8Array, position?: number): void {
  let done = 0;
  while (done < b.length) done += writeSync(fd, b, done, b.length - done, position === undefined ? null : position + done);
}

export function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fdatasync(fd, (e) => (e ? reject(new VigilError('E_RECORDING_FAILED', `cannot make the archive durable: ${e.message}`, { cause: e })) : resolve())),
  );
}

/** Writes each record to the archive file at once; commit() = fdatasync, shared by concurrent callers. */
export class DirectSink implements ArchiveSink {
  private syncing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly fd: number,
    private readonly path: string,
  ) {}

  append(record: Uint8Array): void {
    try {
      writeAll(this.fd, record);
    } catch (e) {
      throw new VigilError('E_RECORDING_FAILED', `cannot write archive ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  commit(): Promise<void> {
    if (!this.syncing) {
      this.syncing = fdatasyncAsync(this.fd).finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    // A call made while a sync is in flight needs the next one: its bytes may have missed this one.
    this.queued ??= this.syncing.then(() => {
      this.queued = undefined;
      return this.commit();
    });
    return this.queued;
  }

  async finish(trailer: Uint8Array): Promise<void> {
    await this.queued;
    await this.syncing;
    writeAll(this.fd, trailer);
    await fdatasyncAsync(this.fd);
    closeSync(this.fd);
  }

  abandon(): void {
    closeSync(this.fd);
  }
}
