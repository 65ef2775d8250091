/**
 * Functions through which a value leaves a statement other than as one of its result columns — where
 * provenance masks it: a setting (read back later by current_setting or SHOW, or reported to the client in
 * a ParameterStatus, as application_name is), a NOTIFY payload (delivered to every listener, in any
 * session), an advisory lock's key (visible to anyone in pg_locks), a sequence's value. In a statement that
 * reads a PAN or card-security column anywhere, any of them could carry that column's value in any form
 * (`set_config('x.y', reverse(pan), false)`), so the statement is refused, whatever policy says.
 */
import type { Classification } from '../../../sql/index.ts';
import type { Refusal } from '../integrity.ts';
import type { ColumnClass } from './column-classes.ts';

const SIDE_CHANNELS = new Set([
  'set_config',
  'pg_notify',
  'setval',
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_advisory_xact_lock',
  'pg_advisory_xact_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
  'pg_try_advisory_xact_lock',
  'pg_try_advisory_xact_lock_shared',
]);

export function sideChannelRefusal(c: Classification, reads: ColumnClass | undefined): Refusal | undefined {
  if (reads !== 'sad' && reads !== 'pan') return undefined;
  for (const s of c.statements) {
    for (const f of s.functions) {
      const name = f.parts[f.parts.length - 1]!.toLowerCase();
      if (!SIDE_CHANNELS.has(name)) continue;
      return {
        sqlstate: '42501',
        rule: 'card-data-side-channel',
        reason: `${name} in a statement that reads card-security or PAN columns: what it is given would leave the statement unmasked (a setting, a notification, a lock key, a sequence value)`,
        hint: 'read the card columns and call the function in separate statements',
      };
    }
  }
  return undefined;
}
