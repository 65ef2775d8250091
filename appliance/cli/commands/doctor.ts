/** `vigil doctor`: one line per check, pass / fail / unknown, with the fix; exit 0 when nothing failed. */
import { runDoctor } from '../../doctor/run-doctor.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const spec = defineCommand({
  name: 'doctor',
  summary: 'Check what breaks evidence or enforcement: file modes, keys, trust file, clock, disk, fsync, targets, JWKS, config.',
  description:
    'Each result is PASS, FAIL or UNKNOWN (could not be checked: never counted as a pass), with the fix.\nExit status 0 when nothing failed (1 otherwise; with --strict an unknown fails too). Run it as the\nservice user (sudo -u vigil vigil doctor …): it reads the keys and opens the database read-only.',
  options: {
    config: { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true },
    trust: { type: 'string', value: 'FILE', description: 'the trust file auditors pinned (default: trust.json beside vigil.yaml)' },
    json: { type: 'boolean', description: 'print the report as JSON (for monitoring)' },
    strict: { type: 'boolean', description: 'an unknown result fails too' },
  },
  examples: ['vigil doctor --config /var/lib/vigil/vigil.yaml', 'vigil doctor --config /var/lib/vigil/vigil.yaml --json --strict'],
});

const WORD = { pass: 'PASS', fail: 'FAIL', unknown: 'UNKNOWN' } as const;

export async function doctor(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const r = await runDoctor({ configPath: a.values.config!, ...(a.values.trust ? { trustPath: a.values.trust } : {}) });
  const ok = r.counts.fail === 0 && (!a.values.strict || r.counts.unknown === 0);
  if (a.values.json) {
    process.stdout.write(JSON.stringify({ ...r, ok }, null, 1) + '\n');
  } else {
    const out: string[] = [];
    for (const x of r.results) {
      out.push(`${WORD[x.status].padEnd(8)} ${x.check.padEnd(13)} ${x.detail}`);
      if (x.fix && x.status !== 'pass') out.push(`${''.padEnd(22)} fix: ${x.fix}`);
    }
    out.push('', `${r.counts.pass} passed, ${r.counts.fail} failed, ${r.counts.unknown} unknown (not checked)${ok ? '' : ' — NOT OK'}`);
    process.stdout.write(out.join('\n') + '\n');
  }
  return ok ? EXIT.ok : EXIT.failed;
}
