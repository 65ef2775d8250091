/**
 * The recorder tap of the session pipeline: one encrypted archive per session plus the log entries that
 * make sessions impossible to drop silently — started (with sequence number and header digest), identified
 * (who connected to which target), anchored chain heads while running, ended/interrupted (with the manifest
 * digest).
 */
import { mkdirSync, readdirSync, renameSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describeError } from '../../shared/errors.ts';
import { ARCHIVE_FILE_EXTENSION, type SessionContext } from '../../shared/evidence/archive-format.ts';
import type { TransparencyLog } from '../log/transparency-log.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import type { Db } from '../store/database.ts';
import { isoTime } from '../time.ts';
import { ArchiveWriter, type AuditorRecipient, type ChainState, type EventInput, type SealedArchive } from './archive-writer.ts';
import { replayJournal, type EvidenceJournal } from './journal.ts';
import { scanArchive, sealInterrupted } from './recovery.ts';

export interface RecorderOptions {
  db: Db;
  log: TransparencyLog;
  keys: KeyRing;
  recipients: readonly AuditorRecipient[];
  dataDir: string;
  applianceId: string;
  frameTargetBytes: number;
  now?: () => Date;
  /** Group commit across sessions (the gateway); without it each archive fsyncs on its own. */
  journal?: EvidenceJournal;
  /** Session ids (default: random UUIDs); the test-vector script injects fixed ones. */
  newSessionId?: () => string;
}

/** Rotate the journal once its current file is this large (at the next anchor round). */
const JOURNAL_ROTATE_BYTES = 32 * 1024 * 1024;

export interface RecoveredSession {
  sessionId: string;
  seq: number;
  frames: number;
  manifestDigest: string;
}

/** What `session.identified` says (the pipeline writes it once identity and target are both known). */
export interface SessionIdentified {
  protocol: string;
  subject: string;
  issuer?: string | undefined;
  method: string;
  target: string;
}

export class SessionRecorder {
  private readonly live = new Map<string, RecordedSession>();
  private readonly now: () => Date;

  constructor(private readonly opts: RecorderOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  get archivesDir(): string {
    return join(this.opts.dataDir, 'archives');
  }

  /** Opens a session: allocates its sequence number, creates its archive and logs `session.started`. */
  start(context: SessionContext): RecordedSession {
    const { db, log } = this.opts;
    const started = this.now();
    const day = isoTime(started).slice(0, 10);
    const dir = join(this.archivesDir, day);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sessionId = (this.opts.newSessionId ?? randomUUID)();
    return db.transaction(() => {
      const seq = ((db.prepare('SELECT MAX(seq) AS s FROM sessions').get() as { s: number | null }).s ?? 0) + 1;
      const path = join(dir, `${String(seq).padStart(8, '0')}-${sessionId}${ARCHIVE_FILE_EXTENSION}`);
      const writer = ArchiveWriter.create({
        path,
        sessionId,
        sessionSeq: seq,
        applianceId: this.opts.applianceId,
        signer: this.opts.keys.signer,
        recipients: this.opts.recipients,
        context,
        frameTargetBytes: this.opts.frameTargetBytes,
        now: this.now,
        ...(this.opts.journal ? { sink: (fd: number, p: string, id: string) => this.opts.journal!.sink(id, fd, p) } : {}),
      });
      const rel = relative(this.opts.dataDir, path);
      const entry = log.append('session.started', {
        sessionId,
        seq,
        protocol: context.protocol,
        subject: context.identity?.subject ?? null,
        target: context.target?.name ?? null,
        headerDigest: writer.headerDigestHex,
        archive: rel,
      });
      db.prepare('INSERT INTO sessions (id, seq, state, path, protocol, started_at, start_entry) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        sessionId,
        seq,
        'open',
        rel,
        context.protocol,
        entry.t,
        entry.i,
      );
      const session = new RecordedSession(this, writer, seq);
      this.live.set(sessionId, session);
      return session;
    })();
  }

  /** Makes every live session durable and anchors chain heads that moved since their last anchor. */
  async anchorAll(): Promise<number> {
    const live = [...this.live.values()];
    const synced = await Promise.allSettled(live.map((s) => s.sync())); // one journal commit for all
    const journal = this.opts.journal;
    if (journal) {
      await journal.sync(); // in write mode, what was committed is only now on disk
      if (journal.currentBytes > JOURNAL_ROTATE_BYTES) await journal.rotate(() => Promise.all(live.map((s) => s.makeFileDurable())).then(() => undefined));
    }
    const states = await Promise.all(live.map((s, i) => (synced[i]!.status === 'fulfilled' ? s.durableStateAsync().catch(() => undefined) : undefined)));
    let anchored = 0;
    live.forEach((s, i) => {
      const state = states[i];
      if (state && this.anchor(s.id, state)) anchored++;
    });
    return anchored;
  }

  /** @internal called by RecordedSession.identified: the signed log names who connected to what. */
  logIdentified(session: RecordedSession, who: SessionIdentified): void {
    this.opts.log.append('session.identified', { sessionId: session.id, protocol: who.protocol, subject: who.subject, issuer: who.issuer ?? null, method: who.method, target: who.target });
  }

  private readonly lastAnchor = new Map<string, number>();

  private anchor(sessionId: string, state: ChainState): boolean {
    if (!this.live.has(sessionId) || state.frames <= (this.lastAnchor.get(sessionId) ?? 0)) return false;
    this.opts.log.append('session.anchor', { sessionId, frames: state.frames, chainHead: state.chainHead });
    this.lastAnchor.set(sessionId, state.frames);
    return true;
  }

  /** @internal called by RecordedSession.close */
  finish(session: RecordedSession, sealed: SealedArchive): void {
    this.logEnd('session.ended', session.id, session.seq, sealed);
    this.live.delete(session.id);
    this.lastAnchor.delete(session.id);
  }

  /** Logs a session's end (sealed, or lost when `sealed` is an error) and records it in the index. */
  private logEnd(type: 'session.ended' | 'session.interrupted', id: string, seq: number, sealed: SealedArchive | Error): void {
    const { db, log } = this.opts;
    db.transaction(() => {
      if (sealed instanceof Error) {
        const entry = log.append(type, { sessionId: id, seq, outcome: 'interrupted', lost: true, error: describeError(sealed) });
        db.prepare("UPDATE sessions SET state = 'interrupted', ended_at = ?, end_entry = ? WHERE id = ?").run(entry.t, entry.i, id);
        return;
      }
      const m = sealed.manifest;
      const entry = log.append(type, { sessionId: id, seq, outcome: m.outcome, manifestDigest: sealed.manifestDigest, frames: m.frames, ...(m.events !== undefined ? { events: m.events } : {}) });
      db.prepare('UPDATE sessions SET state = ?, ended_at = ?, end_entry = ?, frames = ?, manifest_digest = ? WHERE id = ?').run(
        type === 'session.ended' ? 'complete' : 'interrupted',
        m.endedAt,
        entry.i,
        m.frames,
        sealed.manifestDigest,
        id,
      );
    })();
  }

  liveSessions(): RecordedSession[] {
    return [...this.live.values()];
  }

  /**
   * At start-up: seals every archive a previous process left open as interrupted and logs it. Archive
   * files the database never heard of (a crash between creating the file and committing its log entry)
   * hold no events; they are moved aside to data/orphans/.
   */
  async recoverInterrupted(): Promise<RecoveredSession[]> {
    const { db, keys, dataDir } = this.opts;
    const rows = db.prepare("SELECT id, seq, path FROM sessions WHERE state = 'open' ORDER BY seq").all() as { id: string; seq: number; path: string }[];
    const out: RecoveredSession[] = [];
    const journal = this.opts.journal;
    const open = rows.filter((r) => !this.live.has(r.id));
    // Bytes the journal acknowledged may not have reached the archive files: put them there first.
    if (journal && open.length) replayJournal(journal.dir, new Map(open.map((r) => [r.id, join(dataDir, r.path)])));
    for (const row of open) {
      const sealed = await sealInterrupted(join(dataDir, row.path), keys.current, 'the appliance stopped before the session ended; sealed at start-up', this.now()).catch(
        (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
      );
      this.logEnd('session.interrupted', row.id, row.seq, sealed);
      if (!(sealed instanceof Error)) out.push({ sessionId: row.id, seq: row.seq, frames: sealed.manifest.frames, manifestDigest: sealed.manifestDigest });
    }
    await this.quarantineOrphans();
    journal?.removeOlderFiles();
    return out;
  }

  private async quarantineOrphans(): Promise<void> {
    if (!existsSync(this.archivesDir)) return;
    const known = new Set((this.opts.db.prepare('SELECT path FROM sessions').pluck().all() as string[]).map((p) => join(this.opts.dataDir, p)));
    for (const day of readdirSync(this.archivesDir)) {
      const dir = join(this.archivesDir, day);
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (!name.endsWith(ARCHIVE_FILE_EXTENSION) || known.has(path)) continue;
        const scan = await scanArchive(path).catch(() => undefined);
        if (scan && scan.frames > 0) continue; // has content: leave it for a human, never destroy evidence
        const orphans = join(this.opts.dataDir, 'orphans');
        mkdirSync(orphans, { recursive: true, mode: 0o700 });
        renameSync(path, join(orphans, name));
      }
    }
  }
}

export class RecordedSession {
  readonly id: string;

  constructor(
    private readonly recorder: SessionRecorder,
    private readonly writer: ArchiveWriter,
    readonly seq: number,
  ) {
    this.id = writer.sessionId;
  }

  record(event: EventInput): number {
    return this.writer.append(event);
  }

  setContext(update: Partial<SessionContext>): void {
    this.writer.setContext(update);
  }

  /** Logs `session.identified`; throws when the log cannot take it (the session is then refused). */
  identified(who: SessionIdentified): void {
    this.recorder.logIdentified(this, who);
  }

  /** Hands buffered events to the OS as a frame (survives a process crash, not power loss). */
  flush(): void {
    this.writer.flush();
  }

  get archivePath(): string {
    return this.writer.path;
  }

  /** Writes and fsyncs the archive file itself (before the journal holding its bytes is rotated). */
  makeFileDurable(): Promise<void> {
    return this.writer.makeFileDurable();
  }

  /** Everything recorded so far is on disk when this resolves (record, then forward). */
  sync(): Promise<void> {
    return this.writer.sync();
  }

  durableState(): ChainState {
    return this.writer.durableState();
  }

  /** The last durable position with its chain head (fetched from the hashing thread). */
  durableStateAsync(): Promise<ChainState> {
    return this.writer.durableStateAsync();
  }

  async close(reason: string, stats?: Record<string, number>): Promise<SealedArchive> {
    const sealed = await this.writer.close(reason, stats);
    this.recorder.finish(this, sealed);
    return sealed;
  }

  /** Test/crash simulation: drop the session as a crash would (no trailer, no log entry). */
  abandon(): void {
    this.writer.abandon();
  }
}
