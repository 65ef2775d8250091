/** `vigil keys auditor` (make an auditor key pair) and `vigil keys rotate` (rotate the signing key). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createAuditorKey } from '../../../shared/evidence/auditor-key.ts';
import { formatFingerprint } from '../../../shared/evidence/key-id.ts';
import { VigilError } from '../../../shared/errors.ts';
import { Appliance } from '../../appliance.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';
import { readPassphrase } from '../passphrase.ts';

const auditorSpec = defineCommand({
  name: 'keys auditor',
  summary: 'Make an auditor key pair: PATH.pub (give it to the appliance) and PATH.key (keep it).',
  description:
    'Archives are sealed to auditor public keys; only the matching PATH.key can decrypt them. Protect the\n' +
    'secret key with a passphrase (Argon2id) with --passphrase (asks at the terminal) or --passphrase-file.',
  options: {
    out: { type: 'string', value: 'PATH', description: 'write PATH.pub and PATH.key', required: true },
    passphrase: { type: 'boolean', description: 'protect PATH.key with a passphrase typed at the terminal (or VIGIL_PASSPHRASE)' },
    'passphrase-file': { type: 'string', value: 'FILE', description: 'protect PATH.key with the passphrase in FILE (first line)' },
    label: { type: 'string', value: 'TEXT', description: 'a name for the key, e.g. the auditor\'s' },
  },
  examples: ['vigil keys auditor --out ~/vigil/alice --passphrase'],
});

export async function keysAuditor(argv: string[]): Promise<number> {
  const a = parseCommand(auditorSpec, argv);
  if (!a) return EXIT.ok;
  const out = a.values.out!;
  for (const p of [`${out}.pub`, `${out}.key`]) {
    if (existsSync(p)) throw new VigilError('E_EXISTS', `${p} already exists`, { hint: 'choose another --out; keys are never overwritten' });
  }
  const protect = a.values.passphrase || a.values['passphrase-file'] !== undefined;
  const passphrase = protect
    ? await readPassphrase({ file: a.values['passphrase-file'], prompt: 'Passphrase for the new auditor key: ', confirm: true, why: '--passphrase needs a passphrase' })
    : undefined;
  const files = createAuditorKey({ ...(passphrase ? { passphrase } : {}), ...(a.values.label ? { label: a.values.label } : {}) });
  // --out ~/vigil/alice (the example) names a directory that may not exist yet.
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  writeFileSync(`${out}.key`, files.secretFile, { mode: 0o600, flag: 'wx' });
  writeFileSync(`${out}.pub`, files.publicFile, { mode: 0o644, flag: 'wx' });
  process.stdout.write(
    `auditor key ${files.keyId}${passphrase ? ' (passphrase-protected)' : ''}\n` +
      `  public key: ${out}.pub   give this to the appliance: vigil init --auditor ${out}.pub\n` +
      `  secret key: ${out}.key   keep this; vigil verify --key ${out}.key decrypts archives\n`,
  );
  return EXIT.ok;
}

const rotateSpec = defineCommand({
  name: 'keys rotate',
  summary: 'Rotate the appliance signing key: the old key signs an announcement of the new one, which is logged.',
  description: 'Run it with the appliance stopped. Afterwards, give auditors the new trust file (vigil trust).',
  options: {
    config: { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true },
  },
});

export async function keysRotate(argv: string[]): Promise<number> {
  const a = parseCommand(rotateSpec, argv);
  if (!a) return EXIT.ok;
  const app = await Appliance.open(a.values.config!);
  try {
    const { previous, next } = app.keys.rotate(app.log);
    app.log.checkpoint();
    process.stdout.write(
      `rotated signing key ${previous.keyId} → ${next.keyId}\n  new fingerprint: ${formatFingerprint(next.fingerprint)}\n` +
        `  the old key file was destroyed; auditors' verifiers follow the rotation from the logged announcement\n`,
    );
  } finally {
    await app.close();
  }
  return EXIT.ok;
}
