/** `vigil retention run|hold|release|list`: the retention job by hand, and legal holds. */
import { plural } from '../../../shared/text/plural.ts';
import { userInfo } from 'node:os';
import { VigilError } from '../../../shared/errors.ts';
import { Appliance } from '../../appliance.ts';
import { listHolds, placeHold, releaseHold } from '../../retention/holds.ts';
import { runRetention, type RetentionRunResult } from '../../retention/purge.ts';
import { Bucket } from '../../shipping/bucket.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const config = { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true } as const;
const by = { type: 'string', value: 'NAME', description: 'who asks (recorded in the log; default: your user name)' } as const;
const reason = { type: 'string', value: 'TEXT', description: 'why (recorded in the log)', required: true } as const;

const runSpec = defineCommand({
  name: 'retention run',
  summary: 'Purge sealed archives past retention, with a signed purge record in the transparency log.',
  description:
    'Sessions that ended more than retention.days ago (default 2557, 7 years; never below 365) and are not on\n' +
    'legal hold are purged: one signed record per 100 sessions goes into the log (evidence.purged) under a fresh\n' +
    'checkpoint, then the local archive and any bucket copy are deleted. The gateway runs this every\n' +
    'retention.intervalHours; --dry-run only lists what would go. --export writes a bundle of them first.',
  options: {
    config,
    'dry-run': { type: 'boolean', description: 'list what would be purged; change nothing' },
    export: { type: 'string', value: 'FILE', description: 'export the due sessions to this bundle before purging them' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  examples: ['vigil retention run --config /var/lib/vigil/vigil.yaml --dry-run', 'vigil retention run --config /var/lib/vigil/vigil.yaml --export before-purge.vigil'],
});

const holdSpec = defineCommand({
  name: 'retention hold',
  summary: 'Place a legal hold on a session: it is never purged until released (logged as retention.hold).',
  positionals: ['SESSION'],
  options: { config, reason, by },
  examples: ['vigil retention hold 3f2a9c1e --config /var/lib/vigil/vigil.yaml --reason "case 2026-114"'],
});

const releaseSpec = defineCommand({
  name: 'retention release',
  summary: 'Release a legal hold (logged as retention.released); the session is purged when its retention ends.',
  positionals: ['SESSION'],
  options: { config, reason, by },
  examples: ['vigil retention release 3f2a9c1e --config /var/lib/vigil/vigil.yaml --reason "case closed"'],
});

const listSpec = defineCommand({
  name: 'retention holds',
  summary: 'List the sessions on legal hold.',
  options: { config, json: { type: 'boolean', description: 'print JSON' } },
  examples: ['vigil retention holds --config /var/lib/vigil/vigil.yaml'],
});

/** Opens as the owner, or beside the running gateway (SQLite serialises the writes). */
async function openBeside(path: string): Promise<Appliance> {
  try {
    return await Appliance.open(path);
  } catch (e) {
    if (!(e instanceof VigilError && e.code === 'E_LOCKED')) throw e;
    return Appliance.open(path, { owner: false });
  }
}

export async function retentionRun(argv: string[]): Promise<number> {
  const a = parseCommand(runSpec, argv);
  if (!a) return EXIT.ok;
  const app = await openBeside(a.values.config!);
  const shipping = app.loaded.config.shipping;
  const bucket = shipping && !a.values['dry-run'] ? new Bucket(shipping, app.loaded.resolvePath) : undefined;
  try {
    const r = await runRetention(app, { dryRun: a.values['dry-run'] === true, ...(a.values.export ? { exportTo: a.values.export } : {}), ...(bucket ? { bucket } : {}) });
    process.stdout.write(a.values.json ? JSON.stringify(r, null, 2) + '\n' : formatRun(r));
    for (const p of r.problems) process.stderr.write(`vigil: warning: ${p}\n`);
    return r.problems.length ? EXIT.failed : EXIT.ok;
  } finally {
    bucket?.destroy();
    await app.close();
  }
}

function formatRun(r: RetentionRunResult): string {
  const out = [`retention policy "${r.policy.name}": ${r.policy.days} days; sessions that ended before ${r.cutoff} are due`];
  const verb = r.dryRun ? 'would purge' : 'purged';
  out.push(`${verb} ${plural(r.due.length, 'session')}${r.due.length ? ': ' + r.due.map((s) => `#${s.seq}`).join(' ') : ''}`);
  if (r.held.length) out.push(`kept ${plural(r.held.length, 'session')} on legal hold: ${r.held.map((s) => `#${s.seq}`).join(' ')}`);
  if (!r.dryRun) {
    if (r.exportedIn) out.push(`exported first as bundle ${r.exportedIn}`);
    if (r.records.length) out.push(`${plural(r.records.length, 'signed purge record')} at log ${r.records.length === 1 ? 'entry' : 'entries'} ${r.records.join(', ')}`);
    out.push(`deleted ${plural(r.deleted.local, 'local archive')}, ${plural(r.deleted.bucket, 'bucket version')}`);
  }
  return out.join('\n') + '\n';
}

export async function retentionHold(argv: string[]): Promise<number> {
  const a = parseCommand(holdSpec, argv);
  if (!a) return EXIT.ok;
  const app = await openBeside(a.values.config!);
  try {
    const h = placeHold(app, a.positionals[0]!, a.values.reason!, a.values.by ?? userInfo().username);
    process.stdout.write(`session ${h.sessionId} on legal hold (log entry ${h.entry}): it will not be purged until released\n`);
    return EXIT.ok;
  } finally {
    await app.close();
  }
}

export async function retentionRelease(argv: string[]): Promise<number> {
  const a = parseCommand(releaseSpec, argv);
  if (!a) return EXIT.ok;
  const app = await openBeside(a.values.config!);
  try {
    const r = releaseHold(app, a.positionals[0]!, a.values.reason!, a.values.by ?? userInfo().username);
    process.stdout.write(`legal hold on session ${r.sessionId} released (log entry ${r.entry})\n`);
    return EXIT.ok;
  } finally {
    await app.close();
  }
}

export async function retentionHolds(argv: string[]): Promise<number> {
  const a = parseCommand(listSpec, argv);
  if (!a) return EXIT.ok;
  const app = await openBeside(a.values.config!);
  try {
    const holds = listHolds(app);
    if (a.values.json) process.stdout.write(JSON.stringify(holds, null, 2) + '\n');
    else if (!holds.length) process.stdout.write('no session is on legal hold\n');
    else for (const h of holds) process.stdout.write(`${h.sessionId}  since ${h.since}  by ${h.heldBy}: ${h.reason}\n`);
    return EXIT.ok;
  } finally {
    await app.close();
  }
}
