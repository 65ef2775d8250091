/**
 * `sharedState` in vigil.yaml: where a fleet of appliances keeps what they share (approval requests and
 * decisions, single-use token ids). Absent: this appliance keeps them in its own SQLite database.
 *
 *   sharedState:
 *     postgres:
 *       url: postgres://vigil@pg.cde.internal:5432/vigil_fleet?sslmode=verify-full
 *       passwordFile: secrets/fleet-pg.password     # or urlFile: a file holding the whole URL
 *       ca: tls/fleet-pg-ca.crt
 *
 * A password is never written in vigil.yaml (the file is read by operators and reload diffs it): `url`
 * may not carry one.
 */
import { z } from 'zod';

export const sharedPostgresSchema = z
  .strictObject({
    /** postgres://user@host:port/database (no password; see passwordFile). */
    url: z
      .string()
      .min(1)
      .refine((u) => /^postgres(ql)?:\/\//.test(u), 'a postgres:// or postgresql:// URL')
      .refine((u) => !hasPassword(u), 'the URL carries a password: put it in passwordFile (or the whole URL in urlFile)')
      .optional(),
    /** A file (owner-only) holding the whole URL, password included. */
    urlFile: z.string().min(1).optional(),
    /** A file (owner-only) holding the password for `url`. */
    passwordFile: z.string().min(1).optional(),
    /** CA bundle to verify the server's certificate (TLS with verify-full). */
    ca: z.string().min(1).optional(),
    /** Connections for requests and decisions (the LISTEN connection is one more). */
    poolSize: z.number().int().min(1).max(64).default(4),
    /** A query or connection attempt that takes longer fails (the hold then ends as documented in docs/fleet.md). */
    timeoutMs: z.number().int().min(100).max(60_000).default(3_000),
    /** A ping on the LISTEN connection this often notices a silent partition. */
    pingIntervalMs: z.number().int().min(100).max(60_000).default(2_000),
  })
  .refine((p) => (p.url === undefined) !== (p.urlFile === undefined), 'give exactly one of url and urlFile')
  .refine((p) => !(p.urlFile && p.passwordFile), 'passwordFile goes with url; urlFile holds the whole URL');

export const sharedStateSchema = z.strictObject({
  postgres: sharedPostgresSchema,
  /** Cross-witnessing (appliance/fleet/witness.ts): how often this appliance publishes its checkpoint and cosigns the others'. */
  witness: z.strictObject({ intervalSeconds: z.number().int().min(1).max(86_400).default(60) }).default({ intervalSeconds: 60 }),
});
export type SharedStateConfig = z.infer<typeof sharedStateSchema>;
export type SharedPostgresConfig = z.infer<typeof sharedPostgresSchema>;

function hasPassword(u: string): boolean {
  try {
    return new URL(u).password !== '';
  } catch {
    return /\/\/[^/@]*:[^/@]*@/.test(u);
  }
}
