/**
 * What the gateway knows about each prepared statement and portal. A portal keeps the statement object it
 * was bound to — never its name — because PostgreSQL binds a portal to the statement as it was at Bind:
 * closing and re-preparing the name afterwards changes nothing about what the portal runs.
 */
import type { Classification } from '../../sql/index.ts';
import type { FieldDescription } from './wire/index.ts';

export interface PreparedStatement {
  /** The name as humans read it ('' is the unnamed statement). */
  name: string;
  sql: string;
  /** The text exactly as the client sent it: what an approval binds. */
  sqlBytes: Buffer;
  /** The command as recorded (masked, card-security literals redacted). */
  text: string;
  classification: Classification;
  /** The id of the `command` event that recorded the Parse. */
  commandId: number;
  /** A Parse the gateway refused: the server never prepared it. */
  refused: boolean;
}

export interface BoundPortal {
  name: string;
  /** Undefined when the statement was not prepared through the protocol (e.g. SQL-level PREPARE). */
  statement: PreparedStatement | undefined;
  /** Parameter values, copied out of the message (they outlive it). */
  params: (Buffer | null)[];
  paramFormats: number[];
  resultFormats: number[];
  /** The values as recorded: masked, card-security parameters redacted. */
  recordedParams: (string | null)[];
  /** The row layout, once a Describe of this portal answered. */
  fields: readonly FieldDescription[] | undefined;
  /** A Describe of this portal is on its way (the client's or the gateway's own). */
  describing: boolean;
  /** Syncs forwarded before the Bind: the portal ends with the transaction its Sync closes. */
  boundAt: number;
}

/** Copies parameter values out of a received message so the portal can keep them. */
export function copyParams(params: readonly (Buffer | null)[]): (Buffer | null)[] {
  return params.map((p) => (p === null ? null : Buffer.from(p)));
}
