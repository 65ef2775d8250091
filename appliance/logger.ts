/**
 * The appliance's operational log (JSON lines, pino). It names sessions, identities and reasons; it never
 * receives a token, a password, a SCRAM exchange or a clear card number — callers pass only what is safe.
 * As a last line of defence every string of every line is masked for card numbers (strict mode) before it
 * is written: a certificate serial or a reason quoting a client could read like one.
 */
import pino from 'pino';
import { maskCardData } from '../shared/pan/index.ts';

export type AppLogger = pino.Logger;

const MAX_DEPTH = 8;

function maskStrings(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return /\d/.test(v) ? maskCardData(v, { strict: true }).text : v;
  // A number as long as a card number is logged as its masked digits when it reads like one.
  if (typeof v === 'number' && Number.isSafeInteger(v) && Math.abs(v) >= 1e11) {
    const masked = maskCardData(String(v), { strict: true });
    return masked.text === String(v) ? v : masked.text;
  }
  if (depth >= MAX_DEPTH || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => maskStrings(x, depth + 1));
  if (v instanceof Error) return { type: v.name, message: maskStrings(v.message, depth + 1), stack: maskStrings(v.stack ?? '', depth + 1) };
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = maskStrings(x, depth + 1);
  return out;
}

/** pino options every appliance logger uses (and the tests' loggers, so they log what production logs). */
export const LOG_OPTIONS: pino.LoggerOptions = {
  base: { app: 'vigil' },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { log: (o) => maskStrings(o) as Record<string, unknown> },
  hooks: {
    logMethod(args, method) {
      method.apply(this, args.map((a) => (typeof a === 'string' ? maskStrings(a) : a)) as Parameters<typeof method>);
    },
  },
};

export function createLogger(opts: { level?: string; destination?: number | string } = {}): AppLogger {
  return pino({ ...LOG_OPTIONS, level: opts.level ?? process.env['VIGIL_LOG_LEVEL'] ?? 'info' }, pino.destination({ dest: opts.destination ?? 2, sync: false }));
}
