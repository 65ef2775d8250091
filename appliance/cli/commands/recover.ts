/** `vigil recover`: seal archives a crashed appliance left open (the gateway also does this at start-up). */
import { plural } from '../../../shared/text/plural.ts';
import { Appliance } from '../../appliance.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const spec = defineCommand({
  name: 'recover',
  summary: 'Seal archives left open by a crash as "interrupted", keeping every durable frame, and log it.',
  options: {
    config: { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true },
  },
});

export async function recover(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  const app = await Appliance.open(a.values.config!);
  try {
    if (app.recovered.length === 0) process.stdout.write('nothing to recover: no archive was left open\n');
    for (const r of app.recovered) process.stdout.write(`sealed session #${r.seq} (${r.sessionId}) as interrupted: ${plural(r.frames, 'durable frame')}\n`);
  } finally {
    await app.close();
  }
  return EXIT.ok;
}
