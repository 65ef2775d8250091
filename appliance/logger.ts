/**
 * The appliance's operational log (JSON lines, pino). It names sessions, identities and reasons; it never
 * receives a token, a password, a SCRAM exchange or a clear card number — callers pass only what is safe.
 */
import pino from 'pino';

export type AppLogger = pino.Logger;

export function createLogger(opts: { level?: string; destination?: number | string } = {}): AppLogger {
  return pino(
    { level: opts.level ?? process.env['VIGIL_LOG_LEVEL'] ?? 'info', base: { app: 'vigil' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: opts.destination ?? 2, sync: false }),
  );
}
