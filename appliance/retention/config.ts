/** `retention:` in vigil.yaml: how long sealed archives are kept, and how often the purge job runs. */
import { z } from 'zod';
import { MINIMUM_RETENTION_DAYS } from '../../shared/evidence/purge-record.ts';

/** Seven years (the default the seed asks for), leap days included. */
export const DEFAULT_RETENTION_DAYS = 2557;

export const retentionSchema = z.strictObject({
  /** Days after a session ended before its archive may be purged; never below PCI DSS 10.5.1's 12 months. */
  days: z
    .number()
    .int()
    .default(DEFAULT_RETENTION_DAYS)
    .refine((d) => d >= MINIMUM_RETENTION_DAYS, {
      message: `below PCI DSS 10.5.1's minimum of 12 months (${MINIMUM_RETENTION_DAYS} days); the default is ${DEFAULT_RETENTION_DAYS} (7 years)`,
    }),
  /** A name for the policy, recorded in every purge record. */
  policy: z.string().min(1).max(64).default('default'),
  /** How often the gateway runs the purge job. */
  intervalHours: z.number().int().min(1).max(24 * 7).default(24),
});
export type RetentionConfig = z.infer<typeof retentionSchema>;
export const RETENTION_DEFAULTS: RetentionConfig = { days: DEFAULT_RETENTION_DAYS, policy: 'default', intervalHours: 24 };
