/** `vigil shipping run|status`: one shipping pass by hand, and the shipping/retention health. */
import { plural } from '../../../shared/text/plural.ts';
import { VigilError } from '../../../shared/errors.ts';
import { Appliance } from '../../appliance.ts';
import { Bucket } from '../../shipping/bucket.ts';
import { evidenceStorageHealth } from '../../shipping/health.ts';
import { Shipper } from '../../shipping/shipper.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const config = { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true } as const;

const runSpec = defineCommand({
  name: 'shipping run',
  summary: 'Ship sealed archives and the latest checkpoint to the Object Lock bucket now (the gateway does it every shipping.intervalSeconds).',
  description:
    'Each object is uploaded with Content-MD5 and x-amz-checksum-sha256, locked in compliance mode until its\n' +
    'retention ends, then read back and compared; only then is it recorded as shipped. Items that failed earlier\n' +
    'are retried once their backoff has passed. Exit 1 when an item failed.',
  options: { config, json: { type: 'boolean', description: 'print the result as JSON' } },
  examples: ['vigil shipping run --config /var/lib/vigil/vigil.yaml'],
});

const statusSpec = defineCommand({
  name: 'shipping status',
  summary: 'Shipping and retention health: pending items, lag, last error, archives due for purge (no bucket request).',
  options: { config, json: { type: 'boolean', description: 'print JSON (what monitoring reads)' } },
  examples: ['vigil shipping status --config /var/lib/vigil/vigil.yaml --json'],
});

async function openBeside(path: string): Promise<Appliance> {
  try {
    return await Appliance.open(path);
  } catch (e) {
    if (!(e instanceof VigilError && e.code === 'E_LOCKED')) throw e;
    return Appliance.open(path, { owner: false });
  }
}

export async function shippingRun(argv: string[]): Promise<number> {
  const a = parseCommand(runSpec, argv);
  if (!a) return EXIT.ok;
  const app = await openBeside(a.values.config!);
  const cfg = app.loaded.config.shipping;
  if (!cfg) {
    await app.close();
    throw new VigilError('E_CONFIG', `${app.loaded.path}: no shipping: section`, { hint: 'see docs/operations.md, "Shipping to an Object Lock bucket"' });
  }
  const bucket = new Bucket(cfg, app.loaded.resolvePath);
  try {
    const r = await new Shipper(app, bucket, cfg).runOnce();
    if (a.values.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      process.stdout.write(`shipped ${plural(r.shipped.length, 'object')} to bucket ${bucket.name}${r.prunedLocal ? `; pruned ${plural(r.prunedLocal, 'local archive')}` : ''}\n`);
      for (const f of r.failed) process.stderr.write(`vigil: error: ${f.key}: ${f.error}\n`);
    }
    return r.failed.length ? EXIT.failed : EXIT.ok;
  } finally {
    bucket.destroy();
    await app.close();
  }
}

export async function shippingStatus(argv: string[]): Promise<number> {
  const a = parseCommand(statusSpec, argv);
  if (!a) return EXIT.ok;
  const app = await Appliance.open(a.values.config!, { owner: false });
  try {
    const h = evidenceStorageHealth(app.db, app.loaded.config);
    if (a.values.json) process.stdout.write(JSON.stringify(h, null, 2) + '\n');
    else {
      const s = h.shipping;
      const r = h.retention;
      process.stdout.write(
        (s.enabled
          ? `shipping ${s.ok ? 'ok' : 'UNHEALTHY'}: ${s.pending} pending (${s.failing} failing), lag ${s.lagSeconds} s, ${plural(s.shipped.archives, 'archive')} and ${plural(s.shipped.checkpoints, 'checkpoint')} shipped, last at ${s.lastShippedAt ?? 'never'}\n`
          : 'shipping: not configured\n') +
          (s.lastError ? `  last error (${plural(s.lastError.attempts, 'attempt')}): ${s.lastError.key}: ${s.lastError.error}\n` : '') +
          `retention ${r.ok ? 'ok' : 'UNHEALTHY'}: policy "${r.policy}" ${r.days} days; ${r.due} due, ${r.held} on hold, ${r.purged} purged (last ${r.lastPurgeAt ?? 'never'})\n` +
          [...s.problems, ...r.problems].map((p) => `  ${p}\n`).join(''),
      );
    }
    return h.ok ? EXIT.ok : EXIT.failed;
  } finally {
    await app.close();
  }
}
