/**
 * `vigil restore`: puts a backup back, but never rolls the transparency log back. Before anything is
 * written, the backup's log is compared with every checkpoint known outside it — the newest one in the
 * shipping bucket (when the backup's config ships) and each `--witness` file (a trust file or a bundle's
 * checkpoint.json an auditor holds). A witness beyond the backup's log means entries an auditor may have
 * seen are not in the backup: continuing would reuse their indexes with other contents (a fork), so the
 * restore is refused (E_ROLLBACK). A witness within it must have the same root at its size. Once restored,
 * the appliance logs `appliance.restored` under a fresh checkpoint and continues the same log: a later
 * bundle proves consistency with checkpoints pinned before the restore.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { toHex } from '../../shared/bytes.ts';
import { VigilError } from '../../shared/errors.ts';
import { readCheckpoint, type Checkpoint } from '../../shared/evidence/checkpoint.ts';
import { parseJson } from '../../shared/evidence/signed.ts';
import { Appliance } from '../appliance.ts';
import { parseConfig } from '../config/load-config.ts';
import { MerkleStore } from '../log/merkle-store.ts';
import { Bucket } from '../shipping/bucket.ts';
import { CHECKPOINT_PREFIX, checkpointKey, checkpointSizeOfKey } from '../shipping/shipper.ts';
import { openDatabase } from '../store/database.ts';
import { BACKUP_MANIFEST, type BackupManifest } from './backup.ts';

export interface Witness {
  source: string;
  checkpoint: Checkpoint;
}

export interface RestoreOptions {
  backup: string;
  /** Where the restored vigil.yaml goes; its directory must be new or empty. */
  config: string;
  /** Files holding a checkpoint seen outside the appliance: trust files, bundles' checkpoint.json. */
  witnesses?: string[];
  /** Skip asking the shipping bucket (it is unreachable); the restore then relies on --witness alone. */
  noBucket?: boolean;
}

export interface RestoreResult {
  configPath: string;
  manifest: BackupManifest;
  witnesses: { source: string; size: number }[];
  restoredEntry: number;
}

export async function restoreAppliance(opts: RestoreOptions): Promise<RestoreResult> {
  const src = resolve(opts.backup);
  const manifest = readManifest(src);
  const target = resolve(opts.config);
  const targetDir = dirname(target);
  if (existsSync(targetDir) && readdirSync(targetDir).length > 0) {
    throw new VigilError('E_EXISTS', `${targetDir} is not empty`, { hint: 'restore into a new or empty directory, then point the service at it' });
  }
  const config = parseConfig(readFileSync(join(src, 'config', manifest.configFile), 'utf8'), target);

  const witnesses = (opts.witnesses ?? []).map(readWitness);
  if (config.config.shipping && !opts.noBucket) {
    // The credentials file, when relative, is where the backup's config directory has it.
    const w = await bucketWitness(config.config.shipping, (p) => (isAbsolute(p) ? p : resolve(src, 'config', p)), manifest);
    if (w) witnesses.push(w);
  }
  checkAgainst(src, manifest, witnesses);

  mkdirSync(targetDir, { recursive: true, mode: 0o700 });
  cpSync(join(src, 'config'), targetDir, { recursive: true });
  const dataDir = config.resolvePath(config.config.appliance.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  cpSync(join(src, 'data'), dataDir, { recursive: true });
  if (join(targetDir, manifest.configFile) !== target) copyFileSync(join(src, 'config', manifest.configFile), target);

  const app = await Appliance.open(target);
  try {
    const e = app.db.transaction(() => {
      const entry = app.log.append('appliance.restored', {
        backupCreatedAt: manifest.createdAt,
        backupLogSize: manifest.logSize,
        witnessed: witnesses.map((w) => ({ source: w.source, size: w.checkpoint.size })),
      });
      app.log.checkpoint();
      return entry;
    })();
    return { configPath: target, manifest, witnesses: witnesses.map((w) => ({ source: w.source, size: w.checkpoint.size })), restoredEntry: e.i };
  } finally {
    await app.close();
  }
}

function readManifest(dir: string): BackupManifest {
  let m: BackupManifest;
  try {
    m = parseJson(readFileSync(join(dir, BACKUP_MANIFEST), 'utf8'), BACKUP_MANIFEST) as BackupManifest;
  } catch (e) {
    throw new VigilError('E_USAGE', `${dir} is not a Vigil backup (${BACKUP_MANIFEST}: ${(e as Error).message})`, { hint: 'make one with `vigil backup`' });
  }
  if (m.format !== 'vigil-backup' || m.version !== 1) throw new VigilError('E_USAGE', `${dir}: not a version 1 Vigil backup`);
  return m;
}

/** A trust file (its pinned checkpoint) or a checkpoint envelope (a bundle's checkpoint.json). */
function readWitness(path: string): Witness {
  let v: { checkpoint?: unknown; signed?: unknown };
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as typeof v;
  } catch (e) {
    throw new VigilError('E_USAGE', `--witness ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const env = (typeof v.signed === 'string' ? v : v.checkpoint) as Parameters<typeof readCheckpoint>[0];
  return { source: path, checkpoint: readCheckpoint(env) };
}

/** The newest checkpoint the shipper verified in the bucket. */
async function bucketWitness(
  cfg: NonNullable<ReturnType<typeof parseConfig>['config']['shipping']>,
  resolvePath: (p: string) => string,
  manifest: BackupManifest,
): Promise<Witness | undefined> {
  const bucket = new Bucket(cfg, resolvePath);
  try {
    // Only keys from the backup's own last shipped checkpoint on: years of checkpoints are not listed.
    const from = manifest.shippedCheckpointSize ?? 0;
    const startAfter = from > 0 ? bucket.key(checkpointKey(from - 1)) : undefined;
    const keys = (await bucket.list(bucket.key(CHECKPOINT_PREFIX), startAfter)).filter((k) => checkpointSizeOfKey(k) !== undefined);
    const newest = keys.sort().at(-1);
    if (!newest) return undefined;
    const cp = readCheckpoint(JSON.parse((await bucket.get(newest)).toString('utf8')));
    if (cp.applianceId !== manifest.applianceId) throw new VigilError('E_ROLLBACK', `bucket ${cfg.bucket} holds checkpoints of appliance ${cp.applianceId}, the backup is of ${manifest.applianceId}`);
    return { source: `bucket ${cfg.bucket} (${newest})`, checkpoint: cp };
  } finally {
    bucket.destroy();
  }
}

/** Refuses a backup whose log does not contain every witnessed checkpoint. */
function checkAgainst(src: string, manifest: BackupManifest, witnesses: Witness[]): void {
  if (!witnesses.length) return;
  // The Merkle store needs a writable database (it creates its table if missing): a scratch copy.
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-restore-'));
  try {
    copyFileSync(join(src, 'data', 'vigil.db'), join(scratch, 'vigil.db'));
    const db = openDatabase(join(scratch, 'vigil.db'), { joinRunning: true });
    try {
      const merkle = new MerkleStore(db);
      const size = merkle.size();
      for (const w of witnesses) {
        const c = w.checkpoint;
        if (c.applianceId !== manifest.applianceId) throw new VigilError('E_ROLLBACK', `${w.source} is a checkpoint of appliance ${c.applianceId}, the backup is of ${manifest.applianceId}`);
        if (c.size > size) {
          throw new VigilError(
            'E_ROLLBACK',
            `the backup's log ends at ${size} entries (backup of ${manifest.createdAt}), but ${w.source} holds checkpoint ${c.size} (${c.time}): restoring it would roll the log back by ${c.size - size} entries that were shipped or seen by an auditor`,
            { hint: 'restore a newer backup; nothing was written' },
          );
        }
        if (toHex(merkle.root(c.size)) !== c.root) {
          throw new VigilError('E_ROLLBACK', `${w.source}: checkpoint ${c.size} has another root than the backup's log at that size: the backup is of another history`, { hint: 'nothing was written' });
        }
      }
    } finally {
      db.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
