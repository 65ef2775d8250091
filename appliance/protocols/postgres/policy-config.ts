/**
 * PostgreSQL's own policy and evidence settings (`policies[].postgres`, `evidence.postgres` in vigil.yaml),
 * and where they used to live: an old config keeps working, mapped here (docs/configuration.md, "Moved keys").
 */
import { z } from 'zod';
import { moveKey, type LegacyMapping } from '../../policy/config.ts';

const MASKING_DEFAULTS = { redactColumns: [], unmaskColumns: [], derivedPan: 'redact' as const };

export const postgresPolicySchema = z
  .strictObject({
    /** May the client set GUCs with the startup `options` parameter (e.g. -c role=…)? */
    allowStartupOptions: z.boolean().default(false),
    masking: z
      .strictObject({
        /**
         * More source columns whose values (and anything derived from them) are redacted, like card-security
         * columns always are: a column name (`ssn`) or schema.table.column globs.
         */
        redactColumns: z.array(z.string()).default([]),
        /**
         * PAN columns this role may see in clear (a documented PCI DSS 3.4.1 exception): source columns
         * (name or schema.table.column), passed through unchanged only; recordings stay masked.
         */
        unmaskColumns: z.array(z.string()).default([]),
        /** A derived value of a PAN column (`lpad(pan, …)`, `pan || ''`): redacted (default) or the statement blocked. */
        derivedPan: z.enum(['redact', 'block']).default('redact'),
      })
      .default(MASKING_DEFAULTS),
  })
  .default({ allowStartupOptions: false, masking: MASKING_DEFAULTS });
export type PostgresPolicy = z.infer<typeof postgresPolicySchema>;

/** The PostgreSQL block of a policy the engine granted (its config is typed neutral there). */
export function postgresPolicyOf(config: object): PostgresPolicy {
  return (config as { postgres?: PostgresPolicy }).postgres ?? postgresPolicySchema.parse(undefined);
}

/** Policy keys that moved under `postgres:` (issue 10): mapped, or refused naming the new key if both are given. */
export const legacyPostgresPolicy: LegacyMapping = (raw, ctx) => {
  let r = moveKey(raw, ctx, ['allowStartupOptions'], ['postgres', 'allowStartupOptions']);
  for (const k of ['redactColumns', 'unmaskColumns', 'derivedPan']) r = moveKey(r, ctx, ['masking', k], ['postgres', 'masking', k]);
  return r;
};

export const postgresEvidenceSchema = z
  .strictObject({
    /** Masked result rows recorded per statement (the rest are counted). */
    resultRows: z.number().int().min(0).max(100_000).default(100),
  })
  .default({ resultRows: 100 });

export type PostgresEvidence = z.infer<typeof postgresEvidenceSchema>;

/** The PostgreSQL block of the evidence section (typed neutral there). */
export function postgresEvidenceOf(evidence: object): PostgresEvidence {
  return (evidence as { postgres?: PostgresEvidence }).postgres ?? postgresEvidenceSchema.parse(undefined);
}

/** `evidence.resultRows` moved to `evidence.postgres.resultRows`. */
export const legacyPostgresEvidence: LegacyMapping = (raw, ctx) => moveKey(raw, ctx, ['resultRows'], ['postgres', 'resultRows'], 'evidence.postgres.resultRows');
