/**
 * Transparency-log entries. Each entry is one line of JSON whose exact UTF-8 bytes are the Merkle leaf:
 *
 *   {"i":<index>,"t":"<ISO time>","type":"<type>", …fields}
 *
 * `i` binds an entry to its position; `t` never decreases along the log.
 */
import { z } from 'zod';
import { VigilError } from '../errors.ts';
import { hex32Schema, isoTimeSchema } from './schemas.ts';
import { parseJson, parseWith } from './signed.ts';

export const LOG_ENTRY_MAX_BYTES = 64 * 1024;

export type LogEntryType =
  | 'appliance.initialized'
  | 'key.created'
  | 'key.rotated'
  | 'config.changed'
  | 'appliance.started'
  | 'appliance.stopped'
  | 'heartbeat'
  | 'session.started'
  | 'session.identified'
  | 'session.anchor'
  | 'session.ended'
  | 'session.interrupted'
  | 'evidence.exported'
  | 'approval.requested'
  | 'approval.decided'
  | 'approval.expired'
  | 'approval.cancelled'
  | 'credential.issued'
  | 'evidence.purged'
  | 'retention.hold'
  | 'retention.released'
  | 'appliance.restored'
  | 'fleet.changed'
  | 'fleet.cosigned'
  | 'fleet.witness-refused';

export const logEntryBaseSchema = z.looseObject({ i: z.number().int().nonnegative(), t: isoTimeSchema, type: z.string().max(64) });
export type LogEntry = z.infer<typeof logEntryBaseSchema> & Record<string, unknown>;

export const sessionStartedSchema = z.looseObject({
  sessionId: z.string(),
  seq: z.number().int().positive(),
  protocol: z.string(),
  headerDigest: hex32Schema,
  archive: z.string(),
});
/** Who connected to what, once both are known (identity proven, target chosen). */
export const sessionIdentifiedSchema = z.looseObject({
  sessionId: z.string(),
  subject: z.string(),
  target: z.string(),
  issuer: z.string().nullish(),
  method: z.string().nullish(),
  protocol: z.string().nullish(),
});
export const sessionAnchorSchema = z.looseObject({ sessionId: z.string(), frames: z.number().int().nonnegative(), chainHead: hex32Schema });
export const sessionEndedSchema = z.looseObject({
  sessionId: z.string(),
  seq: z.number().int().positive(),
  outcome: z.enum(['complete', 'interrupted']),
  manifestDigest: hex32Schema,
  frames: z.number().int().nonnegative(),
});

export function parseLogEntry(line: string, expectedIndex: number): LogEntry {
  if (line.length > LOG_ENTRY_MAX_BYTES) throw new VigilError('E_FORMAT', `log entry ${expectedIndex}: longer than ${LOG_ENTRY_MAX_BYTES} bytes`);
  const e = parseWith(logEntryBaseSchema, parseJson(line, `log entry ${expectedIndex}`), `log entry ${expectedIndex}`);
  return e as LogEntry;
}

export function entryFields<T>(e: LogEntry, schema: z.ZodType<T>): T {
  return parseWith(schema, e, `log entry ${e.i} (${e.type})`);
}
