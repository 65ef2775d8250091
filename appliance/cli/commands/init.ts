/** `vigil init`: make a working appliance directory. */
import { formatFingerprint } from '../../../shared/evidence/key-id.ts';
import { initAppliance } from '../../init.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const spec = defineCommand({
  name: 'init',
  summary: 'Make an appliance directory: vigil.yaml, signing key (0600), database, and trust.json for auditors.',
  options: {
    dir: { type: 'string', value: 'DIR', description: 'new or empty directory to create', required: true },
    auditor: { type: 'string', multiple: true, value: 'PATH.pub', description: 'auditor public key (repeat for several auditors)', required: true },
  },
  examples: ['vigil keys auditor --out alice && vigil init --dir /var/lib/vigil --auditor alice.pub'],
});

export async function init(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const r = initAppliance({ dir: a.values.dir!, auditors: a.values.auditor ?? [] });
  process.stdout.write(
    `appliance ${r.applianceId} initialised in ${r.dir}\n` +
      `  config:       ${r.configPath}\n` +
      `  signing key:  ${r.keyId}  fingerprint ${formatFingerprint(r.fingerprint)}\n` +
      `  trust file:   ${r.trustPath}   give it to your auditors (they pin it: compare the fingerprint out of band)\n` +
      r.notes.map((n) => `  ${n}\n`).join(''),
  );
  return EXIT.ok;
}
