/** `vigil backup` and `vigil restore`: a consistent copy of the appliance, and putting it back without rolling the log back. */
import { plural } from '../../../shared/text/plural.ts';
import { VigilError } from '../../../shared/errors.ts';
import { Appliance } from '../../appliance.ts';
import { backupAppliance } from '../../backup/backup.ts';
import { restoreAppliance } from '../../backup/restore.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const backupSpec = defineCommand({
  name: 'backup',
  summary: 'Copy the appliance (database snapshot, archives, config and keys) into a new directory; also while it runs.',
  description:
    'The database is copied with SQLite\'s online backup (one consistent snapshot), then every archive it names\n' +
    'and the config directory (signing keys included: keep the backup as safe as the appliance, 0700/0600).',
  options: {
    config: { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true },
    out: { type: 'string', value: 'DIR', description: 'a new or empty directory', required: true },
  },
  examples: ['vigil backup --config /var/lib/vigil/vigil.yaml --out /srv/backup/vigil-2026-12-03'],
});

const restoreSpec = defineCommand({
  name: 'restore',
  summary: 'Restore a backup into a new directory, refusing one older than a shipped or witnessed checkpoint.',
  description:
    'Before anything is written, the backup\'s log is checked against the newest checkpoint in the shipping bucket\n' +
    '(when the backup\'s config ships) and every --witness (a trust file or a bundle\'s checkpoint.json): a\n' +
    'checkpoint beyond the backup means restoring would roll the log back (E_ROLLBACK, exit 1). The restored\n' +
    'appliance logs appliance.restored and continues the same log.',
  options: {
    backup: { type: 'string', value: 'DIR', description: 'the directory `vigil backup` wrote', required: true },
    config: { type: 'string', value: 'FILE', description: 'where the restored vigil.yaml goes (its directory new or empty)', required: true },
    witness: { type: 'string', value: 'FILE', multiple: true, description: 'a checkpoint seen outside the appliance (trust.json, checkpoint.json); repeatable' },
    'no-bucket': { type: 'boolean', description: 'do not ask the shipping bucket (unreachable): rely on --witness alone' },
  },
  examples: ['vigil restore --backup /srv/backup/vigil-2026-12-03 --config /var/lib/vigil/vigil.yaml --witness trust.json'],
});

export async function backup(argv: string[]): Promise<number> {
  const a = parseCommand(backupSpec, argv);
  if (!a) return EXIT.ok;
  let app: Appliance;
  try {
    app = await Appliance.open(a.values.config!);
  } catch (e) {
    if (!(e instanceof VigilError && e.code === 'E_LOCKED')) throw e;
    app = await Appliance.open(a.values.config!, { owner: false });
  }
  try {
    const m = await backupAppliance(app, a.values.out!);
    process.stdout.write(
      `wrote backup ${a.values.out}: log ${m.logSize} entries (checkpoint ${m.checkpoint?.size ?? 'none'}), ${plural(m.archives, 'archive')}` +
        (m.openSessions ? `; ${plural(m.openSessions, 'session')} ${m.openSessions === 1 ? 'was' : 'were'} open: a restore seals ${m.openSessions === 1 ? 'it' : 'them'} as interrupted` : '') +
        '\n',
    );
    return EXIT.ok;
  } finally {
    await app.close();
  }
}

export async function restore(argv: string[]): Promise<number> {
  const a = parseCommand(restoreSpec, argv);
  if (!a) return EXIT.ok;
  const r = await restoreAppliance({ backup: a.values.backup!, config: a.values.config!, witnesses: a.values.witness ?? [], noBucket: a.values['no-bucket'] === true });
  const w = r.witnesses.length ? r.witnesses.map((x) => `${x.source}: checkpoint ${x.size}`).join('; ') : 'none (nothing outside the backup was checked)';
  process.stdout.write(`restored ${r.configPath}: log continues from ${r.manifest.logSize} entries (appliance.restored at entry ${r.restoredEntry}); witnesses: ${w}\n`);
  return EXIT.ok;
}
