/**
 * The appliance-wide transparency log: an append-only list of entries (session started/ended/anchored,
 * interrupted, keys, config, heartbeats, exports…) under an RFC 6962 Merkle tree, with signed
 * checkpoints. Entry bytes are the Merkle leaves, stored verbatim so proofs can be served forever.
 */
import { toHex, utf8 } from '../../shared/bytes.ts';
import { VigilError } from '../../shared/errors.ts';
import { readCheckpoint, signCheckpoint, type Checkpoint } from '../../shared/evidence/checkpoint.ts';
import { LOG_ENTRY_MAX_BYTES, type LogEntry, type LogEntryType } from '../../shared/evidence/log-entry.ts';
import type { SignedEnvelope, Signer } from '../../shared/evidence/signed.ts';
import { leafHash } from '../../shared/merkle/index.ts';
import type { Db } from '../store/database.ts';
import { isoTime } from '../time.ts';
import { MerkleStore } from './merkle-store.ts';

export interface StoredCheckpoint {
  envelope: SignedEnvelope;
  checkpoint: Checkpoint;
}

const RESERVED = new Set(['i', 't', 'type']);

export class TransparencyLog {
  private readonly merkle: MerkleStore;
  private readonly insertEntry;
  private readonly insertCheckpoint;
  private readonly lastTime;

  constructor(
    private readonly db: Db,
    private readonly applianceId: string,
    private readonly signer: () => Signer,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.merkle = new MerkleStore(db);
    this.insertEntry = db.prepare('INSERT INTO log_entries (idx, time, type, data) VALUES (?, ?, ?, ?)');
    this.insertCheckpoint = db.prepare('INSERT INTO checkpoints (size, time, key_id, envelope) VALUES (?, ?, ?, ?)');
    // Read at each append, not cached: `vigil export` may append beside the running gateway.
    this.lastTime = db.prepare('SELECT time FROM log_entries ORDER BY idx DESC LIMIT 1').pluck();
    // One snapshot for both counts: the running gateway may append between two separate reads.
    const [stored, leaves] = db.transaction(() => [(db.prepare('SELECT COUNT(*) AS n FROM log_entries').get() as { n: number }).n, this.merkle.size()]).deferred();
    if (stored !== leaves) {
      throw new VigilError('E_STORE', `transparency log damaged: ${stored} entries but ${leaves} Merkle leaves`);
    }
  }

  size(): number {
    return this.merkle.size();
  }

  get id(): string {
    return this.applianceId;
  }

  /** Appends an entry (atomically with the caller's transaction, if any) and returns it. */
  append(type: LogEntryType, fields: Record<string, unknown> = {}): LogEntry {
    for (const k of Object.keys(fields)) if (RESERVED.has(k)) throw new TypeError(`log entry field '${k}' is reserved`);
    return this.db.transaction(() => {
      const i = this.merkle.size();
      const last = (this.lastTime.get() as string | undefined) ?? '';
      let t = isoTime(this.now());
      if (t < last) t = last; // the log's clock never runs backwards
      const entry: LogEntry = { i, t, type, ...fields };
      const data = JSON.stringify(entry);
      if (data.length > LOG_ENTRY_MAX_BYTES) throw new VigilError('E_LOG_ENTRY', `log entry too large (${data.length} bytes)`);
      this.insertEntry.run(i, t, type, data);
      this.merkle.append(leafHash(utf8(data)));
      return entry;
    })();
  }

  /** A signed checkpoint of the current size (reusing the latest when the log has not grown). */
  checkpoint(): StoredCheckpoint {
    return this.db.transaction(() => {
      const latest = this.latestCheckpoint();
      const size = this.size();
      if (latest && latest.checkpoint.size === size) return latest;
      const signer = this.signer();
      let time = isoTime(this.now());
      if (latest && time < latest.checkpoint.time) time = latest.checkpoint.time;
      const envelope = signCheckpoint({ applianceId: this.applianceId, size, root: toHex(this.merkle.root(size)), time }, signer);
      this.insertCheckpoint.run(size, time, signer.keyId, JSON.stringify(envelope));
      return { envelope, checkpoint: readCheckpoint(envelope) };
    })();
  }

  /**
   * Logs an export (`evidence.exported`) and returns the checkpoint the bundle carries — signed just after
   * that entry, so it covers it — already marked exported: every later bundle proves consistency from it,
   * even if this export then fails half-way (a proof too many costs a few hundred bytes).
   */
  recordExport(fields: { bundleId: string; since: string | null; until: string | null }): StoredCheckpoint {
    return this.db.transaction(() => {
      this.append('evidence.exported', fields);
      const cp = this.checkpoint();
      this.markExported(cp.checkpoint.size);
      return cp;
    })();
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    const row = this.db.prepare('SELECT envelope FROM checkpoints ORDER BY size DESC LIMIT 1').get() as { envelope: string } | undefined;
    return row ? toStored(row.envelope) : undefined;
  }

  /** Checkpoints handed out in earlier exports (auditors may have pinned any of them). */
  exportedCheckpoints(): StoredCheckpoint[] {
    const rows = this.db.prepare('SELECT envelope FROM checkpoints WHERE exported = 1 ORDER BY size').all() as { envelope: string }[];
    return rows.map((r) => toStored(r.envelope));
  }

  markExported(size: number): void {
    this.db.prepare('UPDATE checkpoints SET exported = 1 WHERE size = ?').run(size);
  }

  /** Entry texts with index in [from, to), in order. */
  *entries(from: number, to: number): IterableIterator<string> {
    const stmt = this.db.prepare('SELECT data FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx').pluck();
    for (const data of stmt.iterate(from, to)) yield data as string;
  }

  /** Bytes of entries [from, to) as JSON lines (UTF-8, one newline each). */
  entriesBytes(from: number, to: number): number {
    const row = this.db.prepare('SELECT COALESCE(SUM(LENGTH(CAST(data AS BLOB))), 0) + COUNT(*) AS n FROM log_entries WHERE idx >= ? AND idx < ?').get(from, to) as { n: number };
    return row.n;
  }

  /** Index of the first entry at or after `time`, or size() when there is none. */
  firstIndexAtOrAfter(time: string): number {
    const row = this.db.prepare('SELECT MIN(idx) AS idx FROM log_entries WHERE time >= ?').get(time) as { idx: number | null };
    return row.idx ?? this.size();
  }

  root(size: number): string {
    return toHex(this.merkle.root(size));
  }

  consistencyProof(oldSize: number, newSize: number): string[] {
    return this.merkle.consistencyProof(oldSize, newSize).map(toHex);
  }

  /** Hashes of the perfect subtrees covering [0, end): lets a verifier rebuild the root from entries ≥ end. */
  prefix(end: number): string[] {
    return this.merkle.compactRange(end).map(toHex);
  }
}

function toStored(text: string): StoredCheckpoint {
  const envelope = JSON.parse(text) as SignedEnvelope;
  return { envelope, checkpoint: readCheckpoint(envelope) };
}

