/** `vigil trust`: write a fresh trust file (current keys, latest checkpoint) for auditors to pin. */
import { writeFileSync } from 'node:fs';
import { Appliance } from '../../appliance.ts';
import { buildTrustFile } from '../../keys/trust-file.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const spec = defineCommand({
  name: 'trust',
  summary: 'Write the trust file auditors pin: the appliance keys and a signed checkpoint of the log.',
  options: {
    config: { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true },
    out: { type: 'string', value: 'FILE', description: 'where to write it (default: stdout)' },
  },
});

export async function trust(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const app = await Appliance.open(a.values.config!);
  try {
    const cp = app.log.checkpoint();
    app.log.markExported(cp.checkpoint.size); // later bundles must prove consistency from this one
    const text = JSON.stringify(buildTrustFile(app.id, app.keys.records(), cp.envelope), null, 2) + '\n';
    if (a.values.out) writeFileSync(a.values.out, text);
    else process.stdout.write(text);
  } finally {
    await app.close();
  }
  return EXIT.ok;
}
