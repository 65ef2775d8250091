/** `vigil serve`: run the gateway until SIGINT/SIGTERM. */
import { Gateway } from '../../gateway.ts';
import { createLogger } from '../../logger.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const spec = defineCommand({
  name: 'serve',
  summary: 'Run the gateway: listeners, identity, policy, masking and recording, until SIGINT or SIGTERM.',
  options: {
    config: { type: 'string', value: 'FILE', description: 'the appliance config (DIR/vigil.yaml)', required: true },
  },
  examples: ['vigil serve --config /var/lib/vigil/vigil.yaml'],
});

export async function serve(argv: string[]): Promise<number> {
  const a = parseCommand(spec, argv);
  if (!a) return EXIT.ok;
  // Concurrent fdatasyncs and file reads of many sessions share libuv's thread pool.
  process.env['UV_THREADPOOL_SIZE'] ??= '16';
  const logger = createLogger();
  const gw = await Gateway.start(a.values.config!, { logger });
  const { postgres: pg, ssh, admin } = gw.addresses;
  const parts = [pg ? `PostgreSQL on ${pg.host}:${pg.port}` : '', ssh ? `SSH on ${ssh.host}:${ssh.port}` : '', admin ? `admin API on https://${admin.host}:${admin.port}` : ''].filter(Boolean);
  // Handlers first, then the line that says it is serving: a supervisor may signal as soon as it reads it.
  const stopping = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write(`vigil: serving ${parts.join(', ') || 'nothing (no listeners configured)'} (appliance ${gw.appliance.id}); stop with Ctrl-C\n`);
  await stopping;
  await gw.stop();
  logger.flush();
  return EXIT.ok;
}
