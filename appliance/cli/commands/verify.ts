/** `vigil verify`: check a bundle offline against a pinned trust file; with --key, decrypt and re-scan too. */
import { readFileSync } from 'node:fs';
import { VigilError } from '../../../shared/errors.ts';
import { parseAuditorSecretKey } from '../../../shared/evidence/auditor-key.ts';
import { parseTrustFile } from '../../../shared/evidence/trust.ts';
import { verifyBundle } from '../../../shared/evidence/verify/verify-bundle.ts';
import type { AuditorSecret } from '../../../shared/evidence/verify/verify-archive.ts';
import { openFileSource } from '../../evidence/file-source.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';
import { formatReport } from '../format-report.ts';
import { readPassphrase } from '../passphrase.ts';
import { progressReporter } from '../progress.ts';

const spec = defineCommand({
  name: 'verify',
  summary: 'Verify an evidence bundle offline against the trust file you pinned.',
  positionals: ['FILE'],
  description:
    'Without --key: signatures, digests, log inclusion of every archive, log consistency with the pinned\n' +
    'checkpoint, session completeness and the key chain. With --key: also decrypts every frame, enforces\n' +
    'TAG_FINAL and re-scans the content for clear card numbers.\n' +
    'Exit status: 0 when every check passes (interrupted sessions are reported, not failures; without --key\n' +
    'it means integrity verified, content not checked), 1 when any check fails, 2 on a usage error, 3 when\n' +
    'nothing failed but a check covered only part of the evidence (partial: it cannot be certified).',
  options: {
    trust: { type: 'string', value: 'FILE', description: 'the trust file you pinned (trust.json)', required: true },
    key: { type: 'string', value: 'FILE', description: 'your auditor secret key (PATH.key)' },
    'passphrase-file': { type: 'string', value: 'FILE', description: 'passphrase for a protected key (else VIGIL_PASSPHRASE or a prompt)' },
    json: { type: 'boolean', description: 'print a machine-readable report' },
  },
  examples: ['vigil verify 2026-11.vigil --trust trust.json', 'vigil verify 2026-11.vigil --trust trust.json --key alice.key --json'],
});

export async function verify(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const file = a.positionals[0]!;
  const trust = parseTrustFile(readText(a.values.trust!, 'trust file'));
  let auditor: AuditorSecret | undefined;
  if (a.values.key) {
    const locked = parseAuditorSecretKey(readText(a.values.key, 'auditor key'));
    const passphrase = locked.needsPassphrase
      ? await readPassphrase({ file: a.values['passphrase-file'], prompt: `Passphrase for auditor key ${locked.keyId}: `, why: `auditor key ${locked.keyId} is passphrase-protected` })
      : undefined;
    auditor = locked.unlock(passphrase);
  }
  let src;
  try {
    src = openFileSource(file);
  } catch (e) {
    throw new VigilError('E_USAGE', `cannot open ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const progress = progressReporter('verifying');
    const report = await verifyBundle(src, trust, { ...(auditor ? { auditor } : {}), onProgress: progress.update });
    progress.done();
    process.stdout.write(a.values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, file));
    if (report.verdict.status === 'partial') process.stderr.write('vigil verify: PARTIAL — nothing failed, but some evidence could not be checked (exit 3)\n');
    return report.ok ? EXIT.ok : report.verdict.status === 'partial' ? EXIT.partial : EXIT.failed;
  } finally {
    src.close();
    auditor?.secretKey.fill(0);
  }
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new VigilError('E_USAGE', `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
