/**
 * Targets: the real servers behind Vigil and the credential Vigil logs in with. The credential never
 * appears in vigil.yaml: it comes from a file (read at every connection, so rotation needs no restart) or
 * an environment variable.
 */
import { z } from 'zod';

export const credentialSchema = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') }),
]);
export type CredentialSource = z.infer<typeof credentialSchema>;

export const postgresTargetSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, dots, dashes: clients use it as the database name'),
  protocol: z.literal('postgres'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(5432),
  database: z.string().min(1),
  user: z.string().min(1),
  credential: credentialSchema.optional(),
  tls: z
    .strictObject({
      mode: z.enum(['disable', 'require', 'verify-full']).default('disable'),
      /** CA bundle for verify-full (server certificate and host name are checked). */
      ca: z.string().optional(),
      serverName: z.string().optional(),
    })
    .default({ mode: 'disable' })
    .refine((t) => t.mode !== 'verify-full' || t.ca, 'verify-full needs ca: the CA certificate file'),
  connectTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  /**
   * Columns that hold cardholder data, beyond what their names say (card_number, pan…; cvv, track…):
   * `schema.table.column` globs. `pan` values are masked first 6 + last 4, `sad` (card-security data)
   * values are never shown; derived values of either are redacted whole. See docs/postgres-gateway.md.
   */
  cardholderData: z
    .strictObject({ pan: z.array(z.string().min(1)).default([]), sad: z.array(z.string().min(1)).default([]) })
    .default({ pan: [], sad: [] }),
  /**
   * User-defined functions (`schema.name` globs) declared harmless: without this, a call to any function
   * that is not a reviewed built-in counts as a write (Vigil cannot see what its body does).
   */
  trustedFunctions: z.array(z.string().min(1)).default([]),
  /** How long what Vigil read of the target's catalog is trusted before it is read again. */
  catalogTtlSeconds: z.number().int().min(0).max(3600).default(5),
});
export type PostgresTarget = z.infer<typeof postgresTargetSchema>;

export const targetSchema = postgresTargetSchema;
export type TargetConfig = z.infer<typeof targetSchema>;
