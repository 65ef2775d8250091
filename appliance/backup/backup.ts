/**
 * `vigil backup`: a consistent copy of an appliance — the database through SQLite's online backup (one
 * snapshot, also beside the running gateway), every archive file the snapshot names, and the config
 * directory (vigil.yaml, signing and fingerprint keys, TLS and host keys, auditor keys). The signing keys
 * make the backup as sensitive as the appliance itself: directories 0700, files 0600.
 *
 *   DIR/BACKUP.json   what the backup holds: appliance id, time, log size and latest checkpoint
 *   DIR/config/       the config directory, less the data directory
 *   DIR/data/         vigil.db and the archives at their paths under the data directory
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { VigilError } from '../../shared/errors.ts';
import type { Appliance } from '../appliance.ts';
import { openDatabase } from '../store/database.ts';
import { isoTime } from '../time.ts';

export const BACKUP_MANIFEST = 'BACKUP.json';

export interface BackupManifest {
  format: 'vigil-backup';
  version: 1;
  applianceId: string;
  createdAt: string;
  /** The config file's name inside config/. */
  configFile: string;
  /** Log entries in the snapshot, and its latest signed checkpoint. */
  logSize: number;
  checkpoint: { size: number; root: string; time: string } | null;
  archives: number;
  /** Sessions the snapshot has as still open: their archives are copied as they were (recovery seals them). */
  openSessions: number;
  /** The newest checkpoint the snapshot records as verified in the bucket (null: none shipped). */
  shippedCheckpointSize?: number | null;
}

export async function backupAppliance(app: Appliance, out: string): Promise<BackupManifest> {
  const dest = resolve(out);
  if (existsSync(dest) && readdirSync(dest).length > 0) throw new VigilError('E_EXISTS', `${dest} is not empty`, { hint: 'give a new or empty directory' });
  const configDir = app.loaded.dir;
  const keysDir = app.loaded.resolvePath(app.loaded.config.appliance.keysDir);
  if (!inside(keysDir, configDir)) throw new VigilError('E_USAGE', `the keys directory ${keysDir} is outside the config directory ${configDir}: back it up with your own tools`);
  mkdirSync(join(dest, 'data'), { recursive: true, mode: 0o700 });
  chmodSync(dest, 0o700);

  // One consistent snapshot: every row below comes from it, whatever the gateway writes meanwhile.
  const dbCopy = join(dest, 'data', 'vigil.db');
  await app.db.backup(dbCopy);
  chmodSync(dbCopy, 0o600);
  const snap = openDatabase(dbCopy, { readonly: true });
  let manifest: BackupManifest;
  try {
    const rows = snap.prepare('SELECT path, state FROM sessions WHERE purge_entry IS NULL').all() as { path: string; state: string }[];
    let archives = 0;
    for (const r of rows) {
      const from = join(app.dataDir, r.path);
      if (!existsSync(from)) continue; // pruned after shipping: it is in the bucket
      const to = join(dest, 'data', r.path);
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      copyFileSync(from, to);
      chmodSync(to, 0o600);
      archives++;
    }
    const cp = snap.prepare('SELECT envelope FROM checkpoints ORDER BY size DESC LIMIT 1').pluck().get() as string | undefined;
    const checkpoint = cp ? (JSON.parse((JSON.parse(cp) as { signed: string }).signed) as { size: number; root: string; time: string }) : null;
    manifest = {
      format: 'vigil-backup',
      version: 1,
      applianceId: app.id,
      createdAt: isoTime(),
      configFile: relative(configDir, app.loaded.path),
      logSize: (snap.prepare('SELECT COUNT(*) FROM log_entries').pluck().get() as number),
      checkpoint: checkpoint && { size: checkpoint.size, root: checkpoint.root, time: checkpoint.time },
      archives,
      openSessions: rows.filter((r) => r.state === 'open').length,
      shippedCheckpointSize: snap.prepare("SELECT MAX(CAST(ref AS INTEGER)) FROM shipments WHERE kind = 'checkpoint' AND state = 'shipped'").pluck().get() as number | null,
    };
  } finally {
    snap.close();
  }

  const dataDir = app.dataDir;
  cpSync(configDir, join(dest, 'config'), {
    recursive: true,
    // The data directory is what the snapshot above copied; a backup inside the config directory is not copied into itself.
    filter: (src) => !inside(resolve(src), dataDir) && !inside(resolve(src), dest),
  });
  chmodSync(join(dest, 'config'), 0o700);
  writeFileSync(join(dest, BACKUP_MANIFEST), JSON.stringify(manifest, null, 1) + '\n', { mode: 0o600 });
  return manifest;
}

export function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
