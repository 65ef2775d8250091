/**
 * Targets: the real servers behind Vigil and the credential Vigil logs in with. What a target holds
 * besides is its protocol's (each adapter's target schema, e.g. protocols/postgres/config.ts); the targets
 * list is assembled from the registry (config/protocol-schemas.ts). The credential never
 * appears in vigil.yaml: it comes from a file (read at every connection, so rotation needs no restart) or
 * an environment variable.
 */
import { z } from 'zod';

export const credentialSchema = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') }),
]);
export type CredentialSource = z.infer<typeof credentialSchema>;
