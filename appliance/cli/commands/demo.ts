/**
 * `vigil demo` (the README's first command): until the gateway lands, it walks through the evidence
 * core — sample sessions written by the real writer, exported, then verified offline with the key.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuditorSecretKey } from '../../../shared/evidence/auditor-key.ts';
import { parseTrustFile } from '../../../shared/evidence/trust.ts';
import { verifyBundle } from '../../../shared/evidence/verify/verify-bundle.ts';
import { writeDemoEvidence } from '../../demo/evidence-demo.ts';
import { openFileSource } from '../../evidence/file-source.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';
import { formatReport } from '../format-report.ts';

const spec = defineCommand({
  name: 'demo',
  summary: 'Run the end-to-end demo: record sample sessions, export a bundle, verify it offline.',
  options: {
    out: { type: 'string', value: 'DIR', description: 'where to keep the demo files (default: a new temp directory)' },
  },
});

export async function demo(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const dir = a.values.out ?? mkdtempSync(join(tmpdir(), 'vigil-demo-'));
  process.stdout.write(`1. Recording five sample sessions through the archive writer into ${dir}/appliance …\n`);
  const d = await writeDemoEvidence(dir);
  process.stdout.write(`2. Exported them as one bundle: ${d.bundle}\n3. Verifying it offline with the auditor key:\n\n`);
  const src = openFileSource(d.bundle);
  try {
    const auditor = parseAuditorSecretKey(readFileSync(d.auditorKey, 'utf8')).unlock();
    const report = await verifyBundle(src, parseTrustFile(readFileSync(d.trust, 'utf8')), { auditor });
    process.stdout.write(formatReport(report, d.bundle));
    process.stdout.write(
      `\nTry it yourself:\n` +
        `  npx vigil verify ${d.bundle} --trust ${d.trust}                       # no key: integrity only\n` +
        `  npx vigil verify ${d.bundle} --trust ${d.trust} --key ${d.auditorKey} --json\n` +
        `  VIGIL_PASSPHRASE='${d.passphrase}' npx vigil verify ${d.bundle} --trust ${d.trust} --key ${d.protectedKey}\n`,
    );
    return report.ok ? EXIT.ok : EXIT.failed;
  } finally {
    src.close();
  }
}
