/**
 * An opened appliance directory: config, database, transparency log, signing keys and the session
 * recorder. The owner (the gateway, or a CLI command that writes) holds the directory lock, seals
 * archives a crashed predecessor left open, and runs the periodic anchors, checkpoints and heartbeats.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex, utf8 } from '../shared/bytes.ts';
import { sha256 } from '../shared/crypto/hash.ts';
import { VigilError } from '../shared/errors.ts';
import { parseAuditorPublicKey } from '../shared/evidence/auditor-key.ts';
import { loadConfig, type LoadedConfig } from './config/load-config.ts';
import type { AuditorRecipient } from './evidence/archive-writer.ts';
import { EvidenceJournal, type JournalObserver } from './evidence/journal.ts';
import { SessionRecorder, type RecoveredSession } from './evidence/session-recorder.ts';
import { KeyRing } from './keys/key-ring.ts';
import { TransparencyLog } from './log/transparency-log.ts';
import { runRetention } from './retention/purge.ts';
import { Bucket } from './shipping/bucket.ts';
import { Shipper } from './shipping/shipper.ts';
import { getMeta, openDatabase, setMeta, type Db } from './store/database.ts';
import { tryLock, type DirectoryLock } from './store/lock.ts';

export interface OpenOptions {
  /**
   * Take the directory lock and act as the owner (default). `false`: no lock, for `vigil export` beside a
   * running gateway — it seals nothing and runs no timers, but still appends its export record and
   * checkpoint to the log (SQLite serialises it with the owner's writes).
   */
  owner?: boolean;
  now?: () => Date;
  /** Counts journal commits, archive bytes and journal failures (the gateway's /metrics). */
  journalObserver?: JournalObserver;
}

export class Appliance {
  readonly recovered: RecoveredSession[] = [];
  private timers: NodeJS.Timeout[] = [];

  private constructor(
    readonly loaded: LoadedConfig,
    readonly db: Db,
    readonly log: TransparencyLog,
    readonly keys: KeyRing,
    readonly recorder: SessionRecorder,
    readonly dataDir: string,
    private readonly lock: DirectoryLock | undefined,
    private readonly journal: EvidenceJournal | undefined,
    private readonly clock?: () => Date,
  ) {}

  get id(): string {
    return this.loaded.config.appliance.id;
  }

  get isOwner(): boolean {
    return this.lock !== undefined;
  }

  static async open(configPath: string, opts: OpenOptions = {}): Promise<Appliance> {
    const loaded = loadConfig(configPath);
    const { config } = loaded;
    const dataDir = loaded.resolvePath(config.appliance.dataDir);
    const keysDir = loaded.resolvePath(config.appliance.keysDir);
    const owner = opts.owner ?? true;
    let lock: DirectoryLock | undefined;
    if (owner) {
      const l = tryLock(dataDir);
      if ('heldBy' in l) {
        throw new VigilError('E_LOCKED', `the appliance directory ${dataDir} is in use by process ${l.heldBy}`, {
          hint: 'stop the running appliance first, or use a read-only command',
        });
      }
      lock = l;
    }
    try {
      const db = openDatabase(join(dataDir, 'vigil.db'), owner ? {} : { joinRunning: true });
      const keys = new KeyRing(db, keysDir);
      const log = new TransparencyLog(db, config.appliance.id, keys.signer, opts.now);
      const journal = owner ? new EvidenceJournal(join(dataDir, 'journal'), config.evidence.durability, opts.journalObserver) : undefined;
      const recorder = new SessionRecorder({
        db,
        log,
        keys,
        recipients: loadRecipients(loaded),
        dataDir,
        applianceId: config.appliance.id,
        frameTargetBytes: config.evidence.frameTargetKiB * 1024,
        ...(opts.now ? { now: opts.now } : {}),
        ...(journal ? { journal } : {}),
      });
      const appliance = new Appliance(loaded, db, log, keys, recorder, dataDir, lock, journal, opts.now);
      if (owner) {
        appliance.recordConfig();
        appliance.recovered.push(...(await recorder.recoverInterrupted()));
      }
      return appliance;
    } catch (e) {
      lock?.release();
      throw e;
    }
  }

  /** Logs config.changed when vigil.yaml differs from the last one this appliance ran with. */
  private recordConfig(): void {
    const digest = toHex(sha256(utf8(this.loaded.text)));
    if (getMeta(this.db, 'config_digest') === digest) return;
    this.db.transaction(() => {
      this.log.append('config.changed', { digest, path: this.loaded.path });
      setMeta(this.db, 'config_digest', digest);
    })();
  }

  /** Starts the anchor, checkpoint and heartbeat timers (the gateway's long-running mode). */
  startTimers(): void {
    const e = this.loaded.config.evidence;
    this.log.append('appliance.started', { pid: process.pid, recovered: this.recovered.length });
    const every = (seconds: number, fn: () => unknown) => {
      const t = setInterval(() => void Promise.resolve().then(fn).catch(() => undefined), seconds * 1000);
      t.unref();
      this.timers.push(t);
    };
    every(e.anchorIntervalSeconds, () => this.recorder.anchorAll());
    every(e.checkpointIntervalSeconds, () => this.log.checkpoint());
    // pid + monotonic uptime: `vigil doctor` compares the wall-clock time each heartbeat was logged at with the
    // monotonic time between two of one run, which shows a clock that was stepped or drifts.
    every(e.heartbeatIntervalSeconds, () => this.log.append('heartbeat', { liveSessions: this.recorder.liveSessions().length, pid: process.pid, uptimeMs: Math.round(performance.now()) }));
    const { shipping, retention } = this.loaded.config;
    const bucket = shipping ? (this.bucket = new Bucket(shipping, this.loaded.resolvePath)) : undefined;
    if (shipping && bucket) {
      const shipper = (this.shipper = new Shipper(this, bucket, shipping, this.now));
      every(shipping.intervalSeconds, () => shipper.runOnce());
    }
    const purge = () => runRetention(this, { now: this.now(), ...(bucket ? { bucket } : {}) });
    every(retention.intervalHours * 3600, purge);
    // Also a minute after start: a gateway restarted more often than intervalHours would otherwise never purge.
    const first = setTimeout(() => void purge().catch(() => undefined), 60_000);
    first.unref();
    this.timers.push(first);
  }

  /** The gateway's shipper (set by startTimers when `shipping:` is configured). */
  shipper: Shipper | undefined;
  private bucket: Bucket | undefined;

  private get now(): () => Date {
    return this.clock ?? (() => new Date());
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.isOwner) {
      if (this.timers.length) this.log.append('appliance.stopped', { liveSessions: this.recorder.liveSessions().length });
      this.log.checkpoint();
    }
    this.timers = [];
    this.bucket?.destroy();
    await this.journal?.close({ discard: this.recorder.liveSessions().length === 0 });
    this.db.close();
    this.lock?.release();
  }
}

function loadRecipients(loaded: LoadedConfig): AuditorRecipient[] {
  return loaded.config.evidence.auditors.map((p) => {
    const path = loaded.resolvePath(p);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new VigilError('E_CONFIG', `${loaded.path}: evidence.auditors: cannot read ${path}`, { hint: 'make one with `vigil keys auditor --out PATH`' });
    }
    const key = parseAuditorPublicKey(text);
    return { keyId: key.keyId, publicKey: key.raw };
  });
}
