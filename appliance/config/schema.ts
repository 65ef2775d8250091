/**
 * vigil.yaml, validated. Paths are relative to the config file's directory. Later sections (listeners,
 * identity providers, targets, policies) extend this schema.
 */
import { z } from 'zod';

const seconds = (def: number, min = 1) => z.number().int().min(min).max(86_400).default(def);

export const evidenceSchema = z.strictObject({
  /** Auditor public key files; every archive is sealed to all of them. */
  auditors: z.array(z.string().min(1)).min(1, 'list at least one auditor public key (made by `vigil keys auditor`)'),
  /** How often a running session's durable chain head is anchored in the transparency log. */
  anchorIntervalSeconds: seconds(5),
  checkpointIntervalSeconds: seconds(60),
  heartbeatIntervalSeconds: seconds(300),
  /** Events are batched into encrypted frames of about this size. */
  frameTargetKiB: z.number().int().min(1).max(16 * 1024).default(64),
});

export const configSchema = z.strictObject({
  version: z.literal(1),
  appliance: z.strictObject({
    id: z.string().regex(/^[0-9a-f-]{36}$/, 'expected the UUID `vigil init` wrote'),
    dataDir: z.string().default('data'),
    keysDir: z.string().default('keys'),
  }),
  evidence: evidenceSchema,
});

export type VigilConfig = z.infer<typeof configSchema>;
