/**
 * The session settings that decide what the server will execute, as far as the gateway can know them:
 * the search path (names resolve through it), the current role (its `$user` schema), and whether
 * client_encoding and standard_conforming_strings are still as pinned. They are read from the server
 * itself (a probe query between the client's commands), then followed optimistically through statements
 * whose effect Vigil can compute (SET search_path TO constants), and marked uncertain after anything that
 * may change them in ways Vigil cannot see: code it cannot look into (user functions, DO, CALL, fastpath
 * calls), transaction ends after a change (ROLLBACK reverts SET), RESET ALL, DISCARD, role changes.
 *
 * Uncertain settings are read again at the next point where the server is idle; a statement that needs
 * them before such a point (pipelined behind the change without a Sync) is refused: see client-commands.ts.
 */

/** What the probe asks; every name qualified (current_user is a keyword) so that no user object can stand in for it. */
export const PROBE_SQL =
  "SELECT pg_catalog.current_setting('client_encoding'), pg_catalog.current_setting('standard_conforming_strings'), " +
  'current_user::pg_catalog.text, pg_catalog.to_json(pg_catalog.current_schemas(true))::pg_catalog.text';

export type Uncertainty = 'none' | 'path' | 'all';

export interface KnownSettings {
  /** current_schemas(true): the schemas names resolve through, implicit ones (pg_temp_N, pg_catalog) included. */
  searchPath: readonly string[];
  role: string;
}

export class SessionSettings {
  /** Undefined until the first probe. */
  known: KnownSettings | undefined;
  /** Settings may have changed without Vigil knowing how (after `since` Syncs had been sent). */
  uncertainty: Uncertainty = 'path';
  uncertainSince = 0;
  /** A change was sent that a later transaction end or error could revert: uncertain after the next Sync. */
  private revertibleChangeAt: number | undefined;

  /** From the probe's row. Returns why the session must stop, if a pinned setting changed. */
  learn(row: readonly (string | null)[]): string | undefined {
    const [encoding, scs, role, schemas] = row;
    if (encoding?.toUpperCase() !== 'UTF8') return `client_encoding is ${encoding ?? 'unknown'}; Vigil requires UTF8`;
    if (scs !== 'on') return `standard_conforming_strings is ${scs ?? 'unknown'}; Vigil requires on`;
    let searchPath: string[];
    try {
      const parsed: unknown = JSON.parse(schemas ?? '[]');
      if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) return 'could not read the session search path';
      searchPath = parsed;
    } catch {
      return 'could not read the session search path';
    }
    this.known = { searchPath, role: role ?? '' };
    this.uncertainty = 'none';
    this.revertibleChangeAt = undefined;
    return undefined;
  }

  /** Anything may have changed (code Vigil cannot see into ran, or will run, after `syncsSent` Syncs). */
  opaque(syncsSent: number): void {
    if (this.uncertainty !== 'all') this.uncertainSince = syncsSent;
    this.uncertainty = 'all';
  }

  /** The path (or role) changed in a way Vigil does not follow. */
  pathUnknown(syncsSent: number): void {
    if (this.uncertainty === 'none') {
      this.uncertainty = 'path';
      this.uncertainSince = syncsSent;
    }
  }

  /** The path changed to a value Vigil computed; a later rollback could revert it. */
  pathSet(searchPath: readonly string[], syncsSent: number): void {
    if (this.known) this.known = { ...this.known, searchPath };
    this.revertibleChangeAt ??= syncsSent;
  }

  /** A ReadyForQuery for the `answered`-th Sync arrived. */
  synced(answered: number): void {
    if (this.revertibleChangeAt !== undefined && answered > this.revertibleChangeAt) {
      this.revertibleChangeAt = undefined;
      this.pathUnknown(answered);
    }
  }
}

/**
 * The search path `SET search_path TO …` gives, computed the way current_schemas(true) reports it:
 * `$user` is the role's schema, the session's temporary schema and pg_catalog come first unless listed.
 * Schemas that do not exist stay in the list (they hold no relations, so resolution skips them).
 */
export function computeSearchPath(values: readonly string[], known: KnownSettings): string[] {
  const temp = known.searchPath.find((s) => s.startsWith('pg_temp_'));
  const explicit = values.map((v) => (v === '$user' ? known.role : v === 'pg_temp' && temp ? temp : v));
  const out: string[] = [];
  if (temp && !explicit.includes(temp)) out.push(temp);
  if (!explicit.includes('pg_catalog')) out.push('pg_catalog');
  for (const s of explicit) if (!out.includes(s)) out.push(s);
  return out;
}
