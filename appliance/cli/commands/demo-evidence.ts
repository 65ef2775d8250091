/** `vigil demo-evidence`: sample evidence made by the real writer (what the viewer and its tests open first). */
import { writeDemoEvidence } from '../../demo/evidence-demo.ts';
import { VIGIL_COMMAND } from '../../build-info.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const spec = defineCommand({
  name: 'demo-evidence',
  summary: 'Write a sample evidence bundle, its trust file and auditor keys into a new directory.',
  description:
    'Five synthetic sessions recorded through the real archive writer: PostgreSQL with masked rows, a\n' +
    'blocked DROP TABLE, an approved UPDATE, an SSH terminal session, and one interrupted by a crash.',
  options: {
    out: { type: 'string', value: 'DIR', description: 'new or empty directory', required: true },
  },
  examples: ['vigil demo-evidence --out /tmp/demo && vigil verify /tmp/demo/evidence.vigil --trust /tmp/demo/trust.json --key /tmp/demo/auditor.key'],
});

export async function demoEvidence(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const d = await writeDemoEvidence(a.values.out!);
  process.stdout.write(
    `wrote sample evidence to ${d.dir}\n` +
      `  bundle:      ${d.bundle}\n` +
      `  trust file:  ${d.trust}\n` +
      `  auditor key: ${d.auditorKey}\n` +
      `  protected:   ${d.protectedKey} (passphrase: "${d.passphrase}")\n` +
      `verify it:\n  ${VIGIL_COMMAND} verify ${d.bundle} --trust ${d.trust} --key ${d.auditorKey}\n`,
  );
  return EXIT.ok;
}
