/** The PostgreSQL adapter's configuration: its listener (listeners.postgres) and its targets (protocol: postgres). */
import { z } from 'zod';
import { hostPort } from '../../net/host-port.ts';
import { credentialSchema } from '../../targets/config.ts';

export const postgresListenerSchema = z.strictObject({
  address: hostPort.default('127.0.0.1:6432'),
  /** Server certificate for client TLS (vigil init makes a self-signed one). */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Accept client certificates (the `mtls:` section says which CA and how to read the identity). */
  clientCertificates: z.boolean().default(false),
  /**
   * Tokens travel as PostgreSQL passwords, so they are accepted only over TLS. This loopback-only escape
   * hatch exists for benchmarks against plaintext clients on the same host; it is off by default.
   */
  allowTokenWithoutTlsOnLoopback: z.boolean().default(false),
  /**
   * Authenticated sessions at once. Connections still authenticating never count here (they have their own
   * limits below), so no flood of them can use this capacity up; one that authenticates while it is full
   * gets FATAL 53300.
   */
  maxConnections: z.number().int().min(1).max(100_000).default(2_000),
  /**
   * Connections that have not authenticated yet, from all addresses together. When it is full, the oldest
   * waiting connection of the address holding the most is closed to admit a client from an address holding
   * fewer; a client from the busiest address is refused with FATAL 53300 (docs/postgres-gateway.md).
   */
  maxUnauthenticated: z.number().int().min(1).max(100_000).default(512),
  /** Connections that have not authenticated yet from one source address; more are refused with FATAL 53300. */
  maxUnauthenticatedPerAddress: z.number().int().min(1).max(100_000).default(64),
  /**
   * How long a client may take from connecting (TCP accept) to authenticating: TLS, startup packet, token
   * and its verification (a remote JWKS fetch has its own 5 s timeout), policy grant. Then it is closed.
   */
  authenticationTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
});
export type PostgresListenerConfig = z.infer<typeof postgresListenerSchema>;

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
