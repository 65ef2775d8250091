/**
 * Kubernetes' own policy settings (`policies[].kubernetes` in vigil.yaml). Requests are decided by the
 * neutral rules (`when.protocols: [kubernetes]`, `when.classes`, `when.commands` = verbs, `when.objects`
 * = `namespace/resource/name`, `when.attributes`); this block holds who Vigil impersonates and how
 * Secrets are treated.
 */
import { z } from 'zod';

const SECRETS_DEFAULTS = { read: 'block' as const, reveal: [] as string[] };
const IMPERSONATE_DEFAULTS = { identityGroups: true, groups: [] as string[] };

export const kubernetesPolicySchema = z
  .strictObject({
    impersonate: z
      .strictObject({
        /**
         * The user name the API server sees (Impersonate-User): default the identity's subject. A name
         * starting with `system:` is refused unless it is written here.
         */
        user: z.string().min(1).optional(),
        /** Pass the identity's groups (a `system:` group is never passed on from an identity). */
        identityGroups: z.boolean().default(true),
        /** Groups added for everyone this policy governs (written here, `system:` groups are allowed). */
        groups: z.array(z.string().min(1)).default([]),
      })
      .default(IMPERSONATE_DEFAULTS),
    secrets: z
      .strictObject({
        /**
         * get/list/watch of Secrets: `block` (the default: refused with 403 by rule <policy>/kubernetes.secrets)
         * or `redact` (allowed, with every data and stringData value replaced by [REDACTED]).
         */
        read: z.enum(['block', 'redact']).default('block'),
        /** Secrets whose values are passed on unredacted (still card-masked), as `namespace/name` globs. */
        reveal: z.array(z.string().min(1)).default([]),
      })
      .default(SECRETS_DEFAULTS),
  })
  .default({ impersonate: IMPERSONATE_DEFAULTS, secrets: SECRETS_DEFAULTS });
export type KubernetesPolicy = z.infer<typeof kubernetesPolicySchema>;

/** The Kubernetes block of a policy the engine granted (its config is typed neutral there). */
export function kubernetesPolicyOf(config: object | undefined): KubernetesPolicy {
  return (config as { kubernetes?: KubernetesPolicy } | undefined)?.kubernetes ?? kubernetesPolicySchema.parse(undefined);
}
