/**
 * Where an archive writer's bytes go. The writer decides what the bytes are (frames, trailer) and their
 * offsets; a sink decides when they reach the disk. `DirectSink` writes and fsyncs the archive file
 * itself; the journal sink (journal.ts) makes many sessions' commands durable with one write and one
 * fdatasync of a shared journal — group commit across sessions.
 */
import { closeSync, fdatasync, writev, writeSync } from 'node:fs';
import { VigilError } from '../../shared/errors.ts';
import type { ChainHasher } from './chain-hasher.ts';

export interface ArchiveSink {
  /** Queues `record` to be placed at `offset` of the archive (records arrive in offset order). */
  append(record: Uint8Array, offset: number): void;
  /** Resolves once everything appended so far is durable (as the sink's mode defines it). */
  commit(): Promise<void>;
  /** Writes what is left and the trailer, makes the archive file durable, closes it. */
  finish(trailer: Uint8Array, offset: number): Promise<void>;
  /** Closes without a trailer, as a crash would. */
  abandon(): void;
  /**
   * Optional: the sink lets the hashing thread write `record` to the archive file as it hashes it (one pass
   * over the bytes off the event loop). Then append() is not called for it.
   */
  appendHashed?(record: Uint8Array, offset: number, hasher: ChainHasher): void;
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

/** Archive bytes written between background fdatasyncs (write-behind). */
const WRITE_BEHIND_BYTES = 32 * 1024 * 1024;

/**
 * Starts an fdatasync in the background each time WRITE_BEHIND_BYTES more have been written, so a long
 * stream's bytes go to the disk while it runs and the durability points (commit, close) only wait for the
 * tail: without it the page cache holds a whole bulk stream and closing the session waits for all of it.
 * Not a durability claim: errors are left to the real syncs, which report them.
 */
export class WriteBehind {
  private since = 0;
  private running = false;

  constructor(private readonly fd: number) {}

  wrote(bytes: number): void {
    this.since += bytes;
    if (this.since < WRITE_BEHIND_BYTES || this.running) return;
    this.since = 0;
    this.running = true;
    fdatasync(this.fd, () => (this.running = false));
  }
}

/** Bytes in flight per file beyond which a write is made at once, on this thread (back-pressure). */
const MAX_IN_FLIGHT = 16 * 1024 * 1024;

/**
 * Positional writes to one file, done on libuv's thread pool: the page-cache copy (as costly per byte as
 * hashing on this machine) leaves the event loop, and the loop only hands buffers over. Positions make the
 * order of completion irrelevant. A failed write is kept and thrown by the next call (fail closed); settled()
 * resolves once nothing is in flight, which is what a commit waits for before its fdatasync.
 */
export class PositionalWriter {
  /** Writes not yet completed (each resolves, never rejects: a failure is kept in `failure`). */
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private failure: VigilError | undefined;

  constructor(
    readonly fd: number,
    private readonly what: string,
  ) {}

  /**
   * Queues `parts` to be written contiguously at `position`; the buffers must not change until settled.
   * `now`: write here instead (a small write on the command path costs less than a hop to the thread pool).
   */
  write(parts: readonly Uint8Array[], position: number, now = false): void {
    this.check();
    let total = 0;
    for (const p of parts) total += p.length;
    if (total === 0) return;
    if (now || this.inFlightBytes + total > MAX_IN_FLIGHT) {
      // Asked to, or the disk is far behind: write here, which slows the producer instead of growing memory.
      try {
        let at = position;
        for (const p of parts) {
          writeAll(this.fd, p, at);
          at += p.length;
        }
      } catch (e) {
        throw this.fail(e);
      }
      return;
    }
    this.inFlightBytes += total;
    const done = new Promise<void>((resolve) => this.issue(parts as Uint8Array[], position, total, resolve));
    this.inFlight.add(done);
    void done.then(() => {
      this.inFlight.delete(done);
      this.inFlightBytes -= total;
    });
  }

  private issue(parts: Uint8Array[], position: number, total: number, done: () => void): void {
    writev(this.fd, parts, position, (e, written) => {
      if (!e && written < total) {
        // A short write: the rest, from where it stopped.
        const rest = Buffer.concat(parts).subarray(written);
        this.issue([rest], position + written, total - written, done);
        return;
      }
      if (e) this.fail(e);
      done();
    });
  }

  private fail(e: unknown): VigilError {
    this.failure ??= new VigilError('E_RECORDING_FAILED', `cannot write ${this.what}: ${(e as Error).message}`, { cause: e });
    return this.failure;
  }

  /** Throws the first write failure, if any. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Resolves when every write issued before this call has completed (later ones are not waited for, so a
   * busy stream cannot starve a commit); rejects when a write failed.
   */
  async settled(): Promise<void> {
    if (this.inFlight.size) await Promise.all([...this.inFlight]);
    if (this.failure) throw this.failure;
  }

  get busy(): boolean {
    return this.inFlight.size > 0;
  }
}

/**
 * Writes each record to the archive file at once — by the hashing thread, which has the bytes anyway
 * (chain-hasher.ts) — so the event loop neither hashes nor copies them. commit() = the worker's barrier, then
 * fdatasync, shared by concurrent callers.
 */
export class DirectSink implements ArchiveSink {
  private syncing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private hasher: ChainHasher | undefined;
  private readonly behind: WriteBehind;

  constructor(
    private readonly fd: number,
    private readonly path: string,
  ) {
    this.behind = new WriteBehind(fd);
  }

  append(record: Uint8Array, offset: number): void {
    try {
      writeAll(this.fd, record, offset);
    } catch (e) {
      throw new VigilError('E_RECORDING_FAILED', `cannot write archive ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  appendHashed(record: Uint8Array, offset: number, hasher: ChainHasher): void {
    this.hasher = hasher;
    hasher.add(record, { fd: this.fd, offset });
    this.behind.wrote(record.length);
  }

  /** Every record handed over so far is in the file (the worker wrote it), or this rejects. */
  private written(): Promise<void> {
    return this.hasher ? this.hasher.barrier() : Promise.resolve();
  }

  commit(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.written()
        .then(() => fdatasyncAsync(this.fd))
        .finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    // A call made while a sync is in flight needs the next one: its bytes may have missed this one.
    this.queued ??= this.syncing.then(() => {
      this.queued = undefined;
      return this.commit();
    });
    return this.queued;
  }

  async finish(trailer: Uint8Array, offset: number): Promise<void> {
    await this.queued;
    await this.syncing;
    try {
      await this.written();
      writeAll(this.fd, trailer, offset);
      await fdatasyncAsync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }

  abandon(): void {
    // The worker may still be writing records handed over: the descriptor must not be closed under it.
    void this.written().then(
      () => closeSync(this.fd),
      () => closeSync(this.fd),
    );
  }
}
