/** The PostgreSQL listener's configuration (listeners.postgres in vigil.yaml). */
import { z } from 'zod';

export const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:6432');

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
