/** The Kubernetes adapter's configuration: its listener (listeners.kubernetes) and its targets (protocol: kubernetes). */
import { z } from 'zod';
import { hostPort } from '../../net/host-port.ts';

const file = z.string().min(1);

export const kubernetesListenerSchema = z.strictObject({
  address: hostPort.default('127.0.0.1:6443'),
  /** The listener's serving certificate (HTTPS only: bearer tokens never travel in clear). vigil init makes a self-signed one. */
  tls: z.strictObject({ cert: file, key: file }),
  /** Accept client certificates as the identity (the `mtls:` section says which CA and how to read it). */
  clientCertificates: z.boolean().default(false),
  /** Authenticated client connections at once (each is one recorded session). */
  maxConnections: z.number().int().min(1).max(100_000).default(2_000),
  maxUnauthenticated: z.number().int().min(1).max(100_000).default(512),
  maxUnauthenticatedPerAddress: z.number().int().min(1).max(100_000).default(64),
  /** From TCP accept to the first request with a valid identity; then the connection is closed. */
  authenticationTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** A connection with no request in flight is closed after this long (HTTP keep-alive). */
  keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** Request bodies larger than this are refused (413); the API server's own limit is 3 MiB. */
  maxRequestBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(3 * 1024 * 1024),
  /** Responses Vigil must inspect are read whole, up to this; a larger one is not forwarded (502, fail closed). */
  maxResponseBodyBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** One watch event larger than this ends the watch (fail closed). */
  maxWatchEventBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
  /** How much of each (masked) request and response body the evidence keeps. */
  maxRecordedBodyBytes: z.number().int().min(0).max(8 * 1024 * 1024).default(64 * 1024),
  /** A non-watch request the API server has not answered in this long is answered 504. */
  upstreamTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(120_000),
});
export type KubernetesListenerConfig = z.infer<typeof kubernetesListenerSchema>;

export const kubernetesTargetSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, dots, dashes: clients name it in the URL path (/targets/<name>)'),
  protocol: z.literal('kubernetes'),
  /** The API server, https://host:port (a path prefix is kept). */
  server: z
    .string()
    .url()
    .refine((s) => s.startsWith('https://'), 'the API server must be reached over https'),
  /** The cluster CA (PEM) the API server's certificate is verified against. */
  ca: file,
  /**
   * Vigil's own credential at the API server, which must hold `impersonate` on users and groups (and
   * nothing else is needed): a client certificate, or a bearer token read from a file at each request
   * (a projected service-account token rotates in place).
   */
  credential: z.union([
    z.strictObject({ clientCertificate: z.strictObject({ cert: file, key: file }) }),
    z.strictObject({ tokenFile: file }),
  ]),
  /** The name to verify the API server's certificate for, when it is not the URL's host. */
  tlsServerName: z.string().min(1).optional(),
  connectTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
});
export type KubernetesTarget = z.infer<typeof kubernetesTargetSchema>;
