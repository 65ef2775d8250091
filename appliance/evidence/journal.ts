/**
 * The evidence journal: group commit across sessions. "Record, then forward" needs every command on disk
 * before it reaches the target; one fdatasync per command per session would cost a disk flush each (and
 * concurrent flushes of many files do not batch well). Instead every session appends its new archive
 * bytes to one shared journal; all commits that arrive within one event-loop turn share one write and,
 * in fsync mode, one fdatasync. Archive files then receive the same bytes in large, lazy writes.
 *
 * After a crash, recovery replays the journal into the archives of the sessions that were open (bytes at
 * their recorded offsets, so replay is idempotent) before sealing them as interrupted. The journal is
 * rotated once every live archive has been made durable on its own.
 *
 * Journal file: magic "VIGILJNL" then entries
 *   u32 length of the rest | u32 CRC-32 of the rest | u8 kind (1 = archive bytes) | 16-byte session id |
 *   u64 archive offset | bytes
 * A torn or corrupt entry ends the file for replay (it was never acknowledged).
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { VigilError } from '../../shared/errors.ts';
import type { ChainHasher } from './chain-hasher.ts';
import { fdatasyncAsync, PositionalWriter, writeAll, WriteBehind, type ArchiveSink } from './archive-sink.ts';

const MAGIC = Buffer.from('VIGILJNL');
const KIND_ARCHIVE_BYTES = 1;
const ENTRY_HEAD = 4 + 4 + 1 + 16 + 8;
/**
 * Frame records this large (a streaming session's full frames) skip the journal: they are written once, to
 * the archive file, and the session's next commit makes the archive file itself durable (beside the journal's
 * fdatasync, in parallel). Group commit is for commands, which are small; copying bulk output twice and
 * CRC-ing it cost a bulk stream a third of its recording time.
 */
const DIRECT_FRAME_BYTES = 32 * 1024;
/** Pending archive bytes per session before they are written to the archive file itself. */
const ARCHIVE_WRITE_BATCH = 64 * 1024;
/**
 * Queued journal bytes written out (without fdatasync) once they pass this, instead of waiting for the next
 * commit: a session streaming output commits nothing for seconds (until the next anchor), and its bytes would
 * otherwise pile up in memory and then stall the event loop in one huge write.
 */
const JOURNAL_WRITE_BATCH = 1024 * 1024;

/** Journal writes smaller than this are made on the event loop (commands); larger ones on the thread pool. */
const SMALL_WRITE_BYTES = 64 * 1024;

export type JournalMode = 'fsync' | 'write';

/** Optional counters (the gateway's /metrics): nothing here depends on them. */
export interface JournalObserver {
  commit(seconds: number, groupSize: number): void;
  bytes(n: number): void;
  failed(): void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class EvidenceJournal {
  private fd: number;
  /** Writes to the current journal file, off the event loop, at `size` (the file's length once written). */
  private file: PositionalWriter;
  private size = MAGIC.length;
  private seq: number;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private waiters: Waiter[] = [];
  private inflight: Promise<void> | undefined;
  private scheduled = false;
  private failed: unknown;

  constructor(
    readonly dir: string,
    readonly mode: JournalMode,
    private readonly observer?: JournalObserver,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.seq = Math.max(0, ...journalFiles(dir).map((f) => f.seq)) + 1;
    this.fd = this.openFile(this.seq);
    this.file = new PositionalWriter(this.fd, 'the evidence journal');
  }

  private openFile(seq: number): number {
    const fd = openSync(join(this.dir, `${String(seq).padStart(8, '0')}.wal`), 'wx', 0o600);
    writeAll(fd, MAGIC);
    return fd;
  }

  /** Archive bytes a session wrote to its file only (whole bulk frames): counted like journaled ones. */
  countDirect(n: number): void {
    this.observer?.bytes(n);
  }

  /** Queues archive bytes; durable once a commit() issued after it resolves. `sessionId`: 16 bytes. */
  add(sessionId: Uint8Array, offset: number, bytes: Uint8Array): void {
    const head = Buffer.allocUnsafe(ENTRY_HEAD);
    head.writeUInt32BE(ENTRY_HEAD - 8 + bytes.length, 0);
    head[8] = KIND_ARCHIVE_BYTES;
    head.set(sessionId, 9);
    head.writeBigUInt64BE(BigInt(offset), 25);
    const crc = crc32(bytes, crc32(head.subarray(8)));
    head.writeUInt32BE(crc, 4);
    this.queue.push(head, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.queuedBytes += ENTRY_HEAD + bytes.length;
    this.observer?.bytes(bytes.length);
    if (this.queuedBytes >= JOURNAL_WRITE_BATCH && !this.failed) this.writeQueued();
  }

  /**
   * Hands what is queued to the thread pool, at the end of the journal (positions keep the order whatever
   * order the writes complete in). Durable only after a commit, which waits for every write issued.
   */
  private writeQueued(): void {
    const batch = this.queue;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    if (!batch.length) return;
    try {
      // A commit's few KiB of commands are written here at once (the thread pool's hop would add latency).
      this.file.write(batch, this.size, bytes < SMALL_WRITE_BYTES);
      this.size += bytes;
    } catch (e) {
      this.fail(e, []); // the next commit is refused with it
    }
  }

  /**
   * Everything queued so far reaches the journal (and, in fsync mode, the disk) before this resolves.
   * Group commit, leader style: with no flush in flight the caller's group is written at once; commits
   * arriving while a flush is in flight (its fdatasync, mostly) form the next group, written as soon as
   * it completes — one write and one fdatasync for all of them.
   */
  commit(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (this.inflight || this.scheduled) return;
      // Let every session served in this event-loop turn join the group: one write for all of them.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (!this.inflight) this.flush();
      });
    });
  }

  private flush(): void {
    const waiters = this.waiters;
    this.waiters = [];
    const started = performance.now();
    this.writeQueued();
    if (this.failed) {
      for (const w of waiters) w.reject(this.failed);
      return;
    }
    const fd = this.fd;
    const written = this.file.settled();
    this.inflight = (this.mode === 'write' ? written : written.then(() => fdatasyncAsync(fd))).then(
      () => {
        this.inflight = undefined;
        this.observer?.commit((performance.now() - started) / 1000, waiters.length);
        for (const w of waiters) w.resolve();
        if (this.waiters.length) this.flush();
      },
      (e) => {
        this.inflight = undefined;
        this.fail(e, [...waiters, ...this.waiters.splice(0)]);
      },
    );
  }

  private fail(e: unknown, waiters: Waiter[]): void {
    if (!this.failed) this.observer?.failed();
    this.failed = new VigilError('E_RECORDING_FAILED', `the evidence journal cannot be written: ${(e as Error).message}`, { cause: e });
    for (const w of waiters) w.reject(this.failed);
  }

  /** fdatasync now (write mode's periodic durability point, before anchoring). */
  async sync(): Promise<void> {
    await this.commit();
    if (this.mode === 'write') await fdatasyncAsync(this.fd);
  }

  /** Resolves once every write handed to the thread pool so far has completed (tests, rotation). */
  settled(): Promise<void> {
    return this.file.settled();
  }

  /**
   * Starts a new journal file and deletes the old ones once `makeArchivesDurable` has fsynced every live
   * archive (whose bytes the old files held).
   */
  async rotate(makeArchivesDurable: () => Promise<void>): Promise<void> {
    await this.sync();
    const old = journalFiles(this.dir).filter((f) => f.seq <= this.seq);
    const previous = this.file;
    this.seq++;
    this.fd = this.openFile(this.seq);
    this.file = new PositionalWriter(this.fd, 'the evidence journal');
    this.size = MAGIC.length;
    // Writes issued to the old file before the switch (its archive bytes are covered by makeArchivesDurable).
    await previous.settled().catch(() => undefined);
    closeSync(previous.fd);
    await makeArchivesDurable();
    for (const f of old) unlinkSync(f.path);
  }

  /** Bytes in the current journal file (written so far; see settled()). */
  get currentBytes(): number {
    return fstatSync(this.fd).size;
  }

  /** Bytes handed to the current journal file, written or in flight. */
  get issuedBytes(): number {
    return this.size;
  }

  /** Deletes journal files of earlier runs (after recovery replayed them). */
  removeOlderFiles(): void {
    for (const f of journalFiles(this.dir)) if (f.seq < this.seq) unlinkSync(f.path);
  }

  /** Closes the journal once its writes are done; `discard` deletes its files too (every archive they covered is sealed). */
  async close(opts: { discard?: boolean } = {}): Promise<void> {
    await this.file.settled().catch(() => undefined);
    closeSync(this.fd);
    if (opts.discard) for (const f of journalFiles(this.dir)) unlinkSync(f.path);
  }

  sink(sessionId: string, archiveFd: number, path: string): ArchiveSink {
    return new JournalSink(this, Buffer.from(sessionId.replaceAll('-', ''), 'hex'), archiveFd, path);
  }
}

/** Archive bytes go to the journal at once and to the archive file in batches (both off the event loop). */
class JournalSink implements ArchiveSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingOffset = -1;
  private readonly file: PositionalWriter;
  private readonly behind: WriteBehind;
  /** Frames written only to the archive file since its last durability point (see DIRECT_FRAME_BYTES). */
  private direct = false;
  /** The latest such durability point: every later commit waits for it too. */
  private archiveDurable: Promise<void> = Promise.resolve();
  /** The hashing thread, which writes the direct frames to the archive file (it has their bytes already). */
  private hasher: ChainHasher | undefined;

  constructor(
    private readonly journal: EvidenceJournal,
    private readonly sessionId: Uint8Array,
    private readonly fd: number,
    path: string,
  ) {
    this.file = new PositionalWriter(fd, `archive ${path}`);
    this.behind = new WriteBehind(fd);
  }

  append(record: Uint8Array, offset: number): void {
    this.file.check(); // a failed archive write fails the session's next record (fail closed)
    if (record.length >= DIRECT_FRAME_BYTES) {
      this.direct = true;
      this.journal.countDirect(record.length);
    } else this.journal.add(this.sessionId, offset, record);
    if (this.pendingOffset < 0) this.pendingOffset = offset;
    this.pending.push(Buffer.from(record.buffer, record.byteOffset, record.byteLength));
    this.pendingBytes += record.length;
    if (this.pendingBytes >= ARCHIVE_WRITE_BATCH) this.writePending();
  }

  /** A direct frame goes to the hashing thread, which writes it to the archive file as it hashes it. */
  appendHashed(record: Uint8Array, offset: number, hasher: ChainHasher): void {
    if (record.length < DIRECT_FRAME_BYTES) {
      this.append(record, offset);
      hasher.add(record);
      return;
    }
    this.file.check();
    this.writePending(); // the journaled bytes before it (a batch is one contiguous run)
    this.hasher = hasher;
    this.direct = true;
    this.journal.countDirect(record.length);
    hasher.add(record, { fd: this.fd, offset });
    this.behind.wrote(record.length);
  }

  /** Every byte handed over so far is in the archive file (thread pool and hashing thread), or this rejects. */
  private written(): Promise<void> {
    this.writePending();
    return Promise.all([this.file.settled(), this.hasher?.barrier()]).then(() => undefined);
  }

  /**
   * Durable when the journal's commit is, and — if frames went only to the archive file — once that file is
   * written (and, in fsync mode, fdatasynced) too. A crash before then loses only unacknowledged frames: a
   * journaled frame after a missing one is never acknowledged, and recovery stops at the gap.
   */
  commit(): Promise<void> {
    if (this.direct) {
      this.direct = false;
      const fsync = this.journal.mode === 'fsync';
      const previous = this.archiveDurable;
      this.archiveDurable = Promise.all([previous, this.written()]).then(() => (fsync ? fdatasyncAsync(this.fd) : undefined));
      this.archiveDurable.catch(() => undefined); // a failure stays: every later commit rejects with it (fail closed)
    }
    return Promise.all([this.journal.commit(), this.archiveDurable]).then(() => undefined);
  }

  /** Hands the batched bytes to the archive file (not on the command path: the journal has them). */
  writePending(): void {
    if (!this.pending.length) return;
    this.file.write(this.pending, this.pendingOffset);
    this.behind.wrote(this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingOffset = -1;
  }

  /** Makes the archive file itself durable (before the journal that holds its bytes is rotated away). */
  async makeDurable(): Promise<void> {
    await this.written();
    await fdatasyncAsync(this.fd);
  }

  async finish(trailer: Uint8Array, offset: number): Promise<void> {
    await this.written();
    writeAll(this.fd, trailer, offset);
    await fdatasyncAsync(this.fd);
    closeSync(this.fd);
  }

  abandon(): void {
    // A crash would lose what only the journal holds: keep it that way, recovery replays it.
    // Nothing may still be writing to the descriptor when it closes (a reused one would get the bytes).
    void this.written().then(
      () => closeSync(this.fd),
      () => closeSync(this.fd),
    );
  }
}

export type { JournalSink };

export interface JournalFile {
  seq: number;
  path: string;
}

export function journalFiles(dir: string): JournalFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((n) => {
      const m = /^(\d{8})\.wal$/.exec(n);
      return m ? [{ seq: Number(m[1]), path: join(dir, n) }] : [];
    })
    .sort((a, b) => a.seq - b.seq);
}

export interface JournalEntry {
  sessionId: string;
  offset: number;
  bytes: Buffer;
}

/** Every intact entry of every journal file, oldest first; a torn or corrupt entry ends its file. */
export function* readJournal(dir: string): Generator<JournalEntry> {
  for (const f of journalFiles(dir)) {
    const b = readFileSync(f.path);
    if (b.length < MAGIC.length || !b.subarray(0, MAGIC.length).equals(MAGIC)) continue;
    let o = MAGIC.length;
    while (o + ENTRY_HEAD <= b.length) {
      const len = b.readUInt32BE(o);
      if (len < ENTRY_HEAD - 8 || o + 8 + len > b.length) break;
      const body = b.subarray(o + 8, o + 8 + len);
      if (crc32(body) !== b.readUInt32BE(o + 4) || body[0] !== KIND_ARCHIVE_BYTES) break;
      const id = body.subarray(1, 17).toString('hex');
      yield {
        sessionId: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`,
        offset: Number(body.readBigUInt64BE(17)),
        bytes: body.subarray(25),
      };
      o += 8 + len;
    }
  }
}

/** Replays journal entries into the archives of `sessions` (id → path); returns how many entries applied. */
export function replayJournal(dir: string, sessions: ReadonlyMap<string, string>): number {
  const fds = new Map<string, number>();
  let applied = 0;
  try {
    for (const e of readJournal(dir)) {
      const path = sessions.get(e.sessionId);
      if (!path) continue;
      let fd = fds.get(e.sessionId);
      if (fd === undefined) {
        fd = openSync(path, existsSync(path) ? 'r+' : 'w+', 0o600);
        fds.set(e.sessionId, fd);
      }
      writeAll(fd, e.bytes, e.offset);
      applied++;
    }
  } finally {
    for (const fd of fds.values()) {
      fdatasyncSync(fd);
      closeSync(fd);
    }
  }
  return applied;
}

export function removeJournals(dir: string): void {
  for (const f of journalFiles(dir)) unlinkSync(f.path);
}
