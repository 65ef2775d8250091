/** `vigil fleet verify`: a fleet's bundles against the pinned fleet trust file, cosignatures included. */
import { readFileSync } from 'node:fs';
import { VigilError } from '../../../shared/errors.ts';
import { parseAuditorSecretKey } from '../../../shared/evidence/auditor-key.ts';
import { parseFleetTrustFile } from '../../../shared/evidence/fleet.ts';
import { parseFleetSessions } from '../../../shared/evidence/fleet-sessions.ts';
import { verifyFleet, type FleetVerificationReport } from '../../../shared/evidence/verify/fleet-verify.ts';
import { openFileSource } from '../../evidence/file-source.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';
import { readPassphrase } from '../passphrase.ts';

const spec = defineCommand({
  name: 'fleet verify',
  summary: 'Verify the bundles of a fleet offline: every appliance\'s log and archives, and the witness cosignatures.',
  positionals: ['BUNDLE...'],
  description:
    'Each bundle is verified as `vigil verify` does, with the keys and checkpoint the fleet trust file pins\n' +
    'for its appliance; then every cosignature in the bundles\' logs is checked against the other bundles.\n' +
    'A cosignature by a key the fleet trust file does not give the witness at that time (unknown, retired,\n' +
    'replaced) is refused and not counted. An appliance without a bundle, or whose log no valid cosignature\n' +
    'covers, is unknown or partial, never a pass. Exit status: 0 pass, 1 fail, 3 partial or unknown.',
  options: {
    'fleet-trust': { type: 'string', value: 'FILE', description: 'the fleet trust file you pinned (vigil fleet trust)', required: true },
    sessions: { type: 'string', value: 'FILE', description: 'the fleet\'s session index for the window (vigil fleet sessions --out): each must be in its appliance\'s bundle' },
    key: { type: 'string', value: 'FILE', description: 'your auditor secret key (PATH.key): also decrypt and re-scan' },
    'passphrase-file': { type: 'string', value: 'FILE', description: 'passphrase for a protected key (else VIGIL_PASSPHRASE or a prompt)' },
    json: { type: 'boolean', description: 'print a machine-readable report' },
  },
  examples: ['vigil fleet verify --fleet-trust fleet-trust.json a.vigil b.vigil c.vigil', 'vigil fleet verify --fleet-trust fleet-trust.json --sessions sessions.json a.vigil b.vigil c.vigil'],
});

export async function fleetVerify(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const trust = parseFleetTrustFile(read(a.values['fleet-trust']!));
  const locked = a.values.key ? parseAuditorSecretKey(read(a.values.key)) : undefined;
  const auditor = locked?.unlock(
    locked.needsPassphrase ? await readPassphrase({ file: a.values['passphrase-file'], prompt: `Passphrase for auditor key ${locked.keyId}: `, why: `auditor key ${locked.keyId} is passphrase-protected` }) : undefined,
  );
  const sources = a.positionals.map((name) => {
    try {
      return { name, src: openFileSource(name) };
    } catch (e) {
      throw new VigilError('E_USAGE', `cannot open ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  });
  try {
    const sessions = a.values.sessions ? parseFleetSessions(read(a.values.sessions)) : undefined;
    const report = await verifyFleet(trust, sources, { ...(auditor ? { auditor } : {}), ...(sessions ? { sessions } : {}) });
    if (a.values.json) {
      const { appliances, ...rest } = report;
      process.stdout.write(JSON.stringify({ ...rest, appliances: appliances.map(({ report: _r, ...x }) => x) }, null, 2) + '\n');
    } else process.stdout.write(formatFleetReport(report));
    return report.status === 'pass' ? EXIT.ok : report.status === 'fail' ? EXIT.failed : EXIT.partial;
  } finally {
    for (const s of sources) s.src.close();
    auditor?.secretKey.fill(0);
  }
}

function formatFleetReport(r: FleetVerificationReport): string {
  const out = [`fleet: ${r.trust.appliances} appliance(s), ${r.trust.events} signed event(s)`];
  for (const p of r.trust.problems) out.push(`  FAIL fleet trust: ${p}`);
  for (const a of r.appliances) {
    const c = a.cosignatures;
    const served = r.sessions.filter((s) => s.applianceId === a.applianceId);
    const missing = served.filter((s) => s.status === 'missing').length;
    const unknown = served.filter((s) => s.status === 'unknown').length;
    out.push(
      `${a.status.toUpperCase().padEnd(8)}${a.applianceId} (${a.membership})  bundle: ${a.bundle ?? 'none'}${a.bundleVerdict ? ` [${a.bundleVerdict}]` : ''}  ` +
        `sessions: ${served.length - missing - unknown}${missing ? ` + ${missing} MISSING` : ''}${unknown ? ` + ${unknown} unknown` : ''}  cosignatures: ${c.pass} pass, ${c.fail} fail, ${c.unknown} unknown, ${c.refused} refused`,
    );
    for (const d of a.details) out.push(`        ${d}`);
  }
  for (const x of r.cosignatures.filter((y) => y.status !== 'pass')) out.push(`  cosignature ${x.status.toUpperCase()}: ${x.witnessId ?? '?'} → ${x.subjectId ?? '?'} size ${x.size ?? '?'}: ${x.detail}`);
  for (const x of r.refusals) out.push(`  witness refusal ${x.status.toUpperCase()}: ${x.detail}`);
  out.push(`${r.status.toUpperCase()}: the fleet's evidence ${r.status === 'pass' ? 'verifies' : r.status === 'fail' ? 'does not verify' : 'could only partly be checked'}`);
  return out.join('\n') + '\n';
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new VigilError('E_USAGE', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
