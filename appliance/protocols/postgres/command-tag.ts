/**
 * The row count a CommandComplete tag reports, read exactly as libpq's PQcmdTuples reads it (node-postgres
 * agrees on every tag a server sends): `INSERT oid n`, `SELECT n`, `UPDATE n`, `DELETE n`, `MERGE n`,
 * `FETCH n`, `MOVE n`, `COPY n`. Any other tag (`CREATE TABLE`, `SHOW`, `BEGIN` …) reports no count, and
 * neither does a malformed one: the evidence never guesses a number.
 */

/** Tag prefixes that carry a count, and whether an OID comes first. */
const COUNTED: readonly (readonly [prefix: string, oidFirst: boolean])[] = [
  ['INSERT ', true],
  ['SELECT ', false],
  ['DELETE ', false],
  ['UPDATE ', false],
  ['MERGE ', false],
  ['FETCH ', false],
  ['MOVE ', false],
  ['COPY ', false],
];

/** The tag's row count, or undefined when the tag carries none (or not in the form the server writes it). */
export function tagRowCount(tag: string): number | undefined {
  for (const [prefix, oidFirst] of COUNTED) {
    if (!tag.startsWith(prefix)) continue;
    let rest = tag.slice(prefix.length);
    if (oidFirst) {
      const space = rest.indexOf(' ');
      if (space < 0) return undefined;
      rest = rest.slice(space + 1);
    }
    if (!/^\d+$/.test(rest)) return undefined;
    const n = Number(rest);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}
