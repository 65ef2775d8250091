/** `vigil export`: one bundle file for auditors. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { VigilError } from '../../../shared/errors.ts';
import { plural } from '../../../shared/text/plural.ts';
import { Appliance } from '../../appliance.ts';
import { exportBundle } from '../../export/export-bundle.ts';
import { Bucket } from '../../shipping/bucket.ts';
import { bucketReadBack } from '../../shipping/read-back.ts';
import { EXIT, UsageError, defineCommand, parseCommand } from '../command.ts';
import { progressReporter } from '../progress.ts';

const spec = defineCommand({
  name: 'export',
  summary: 'Write one bundle file: archives of sessions started in the window, log entries, proofs, checkpoint and keys.',
  description:
    'Sessions whose start falls in [--since, --until) are included. The export is logged (evidence.exported)\n' +
    'under a fresh signed checkpoint, also while the appliance runs; sessions still running then follow in\n' +
    'the next export.',
  options: {
    config: { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true },
    out: { type: 'string', value: 'FILE', description: 'bundle file to create (conventionally *.vigil)', required: true },
    since: { type: 'string', value: 'TIME', description: 'ISO time or date, e.g. 2026-11-01 (inclusive)' },
    until: { type: 'string', value: 'TIME', description: 'ISO time or date (exclusive)' },
  },
  examples: ['vigil export --config /var/lib/vigil/vigil.yaml --out 2026-11.vigil --since 2026-11-01 --until 2026-12-01'],
});

export function parseTime(s: string | undefined, flag: string): string | undefined {
  if (s === undefined) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag} '${s}' is not a time; use e.g. 2026-11-01 or 2026-11-01T12:00:00Z`, 'export');
  return d.toISOString();
}

export async function exportCommand(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const since = parseTime(a.values.since, '--since');
  const until = parseTime(a.values.until, '--until');
  let app: Appliance;
  try {
    app = await Appliance.open(a.values.config!);
  } catch (e) {
    if (!(e instanceof VigilError && e.code === 'E_LOCKED')) throw e;
    app = await Appliance.open(a.values.config!, { owner: false });
  }
  // Archives pruned locally after shipping are read back from the bucket (and checked against their digest).
  const shipping = app.loaded.config.shipping;
  const bucket = shipping ? new Bucket(shipping, app.loaded.resolvePath) : undefined;
  const readBack = bucket ? bucketReadBack(app, bucket) : undefined;
  try {
    const progress = progressReporter('exporting');
    const s = await exportBundle(app, {
      out: a.values.out!,
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      onProgress: progress.update,
      ...(readBack ? { readBack: readBack.fetch } : {}),
    });
    progress.done();
    process.stdout.write(
      `wrote ${s.path}: ${plural(s.sessions, 'session archive')}, ${s.bytes} bytes, log checkpoint ${s.checkpointSize}` +
        (readBack?.count ? `; ${plural(readBack.count, 'archive')} read back from bucket ${bucket!.name}` : '') +
        (s.inProgress ? `; ${plural(s.inProgress, 'session')} still running ${s.inProgress === 1 ? 'is' : 'are'} left for the next export` : '') +
        '\n',
    );
    // The fingerprint the auditor compares in the viewer (give it to them by another channel than the file).
    process.stdout.write(`SHA-256 ${await fileSha256(s.path)}  ${s.path}\n`);
    for (const p of s.problems) process.stderr.write(`vigil: error: ${p}\n`);
    return s.problems.length ? EXIT.failed : EXIT.ok;
  } finally {
    readBack?.cleanup();
    bucket?.destroy();
    await app.close();
  }
}

/** SHA-256 of a file, streamed (a bundle can be many gigabytes). */
async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
