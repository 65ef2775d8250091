/** `vigil serve`: run the gateway until SIGINT/SIGTERM. */
import { VigilError } from '../../../shared/errors.ts';
import { Gateway } from '../../gateway.ts';
import { createLogger } from '../../logger.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const spec = defineCommand({
  name: 'serve',
  summary: 'Run the gateway: listeners, identity, policy, masking and recording, until SIGINT or SIGTERM.',
  description:
    'SIGHUP re-reads the config: policies and schedules apply to new sessions; other changed sections\nare reported as needing a restart; a file that does not validate is rejected and the running one stays.\nA reload that changed the file is signed into the transparency log (config.changed).\nSIGTERM/SIGINT: stop accepting, let open sessions end for up to shutdown.drainSeconds, then end the rest\n(recorded as interrupted by shutdown).',
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
  // SIGHUP (systemctl reload vigil): re-read vigil.yaml; a bad file keeps the running configuration.
  process.on('SIGHUP', () => {
    try {
      const r = gw.reload();
      process.stdout.write(
        `vigil: configuration ${r.digest === r.previousDigest ? 're-read, unchanged' : `reloaded (sha256 ${r.digest})`}` +
          `${r.applied.length ? `; applied: ${r.applied.join(', ')}` : ''}${r.restartNeeded.length ? `; needs a restart: ${r.restartNeeded.join(', ')}` : ''}\n`,
      );
    } catch (e) {
      const why = e instanceof VigilError ? e.message : String(e);
      logger.error({ event: 'config.rejected', path: gw.appliance.loaded.path, reason: why }, 'configuration rejected; the running one stays');
      process.stderr.write(`vigil: configuration rejected, the running one stays: ${why}\n`);
    }
  });
  // Handlers first, then the line that says it is serving: a supervisor may signal as soon as it reads it.
  const stopping = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write(`vigil: serving ${parts.join(', ') || 'nothing (no listeners configured)'} (appliance ${gw.appliance.id}); stop with Ctrl-C\n`);
  await stopping;
  process.stdout.write(`vigil: stopping: draining open sessions for up to ${gw.appliance.loaded.config.shutdown.drainSeconds} s\n`);
  await gw.stop();
  logger.flush();
  return EXIT.ok;
}
