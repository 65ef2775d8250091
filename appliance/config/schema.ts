/**
 * vigil.yaml, validated. Paths are relative to the config file's directory. Later sections (listeners,
 * identity providers, targets, policies) extend this schema.
 */
import { z } from 'zod';
import { adminListenerSchema } from '../admin/config.ts';
import { approvalsSchema } from '../approvals/config.ts';
import { identityProvidersSchema, mtlsSchema } from '../identity/config.ts';
import { policySchemaWith, schedulesSchema, type LegacyMapping } from '../policy/config.ts';
import { PROTOCOLS } from '../protocols/registry.ts';
import { RETENTION_DEFAULTS, retentionSchema } from '../retention/config.ts';
import { shippingSchema } from '../shipping/config.ts';
import { sharedStateSchema } from '../store/shared/config.ts';
import { checkProtocols, listenersSchema, targetSchema } from './protocol-schemas.ts';

const seconds = (def: number, min = 1) => z.number().int().min(min).max(86_400).default(def);

/** Each protocol's block (`postgres: {…}`, `ssh: {…}`) of a section, from the registry, and its legacy mappings. */
// Typed as no keys (`{}`): the neutral layers read only neutral keys, and each protocol reads its own block
// through its own accessor (postgresPolicyOf, sshPolicyOf…), so nothing outside it depends on its shape.
function blocks(section: 'policy' | 'evidence'): { shape: {}; legacy: LegacyMapping[] } {
  const shape: Record<string, z.ZodType> = {};
  const legacy: LegacyMapping[] = [];
  for (const a of PROTOCOLS) {
    const b = a[section];
    if (!b) continue;
    shape[a.name] = b.schema;
    if (b.legacy) legacy.push(b.legacy);
  }
  return { shape, legacy };
}

const policyBlocks = blocks('policy');
const evidenceBlocks = blocks('evidence');

/** Each protocol's policy block; old placements of its keys are mapped (docs/configuration.md). */
export const policySchema = policySchemaWith(policyBlocks.shape, policyBlocks.legacy);
export type PolicyConfig = z.infer<typeof policySchema>;

const evidenceStrict = z.strictObject({
  /** Auditor public key files; every archive is sealed to all of them. */
  auditors: z.array(z.string().min(1)).min(1, 'list at least one auditor public key (made by `vigil keys auditor`)'),
  /** How often a running session's durable chain head is anchored in the transparency log. */
  anchorIntervalSeconds: seconds(5),
  checkpointIntervalSeconds: seconds(60),
  heartbeatIntervalSeconds: seconds(300),
  /** Events are batched into encrypted frames of about this size. */
  frameTargetKiB: z.number().int().min(1).max(16 * 1024).default(64),
  /**
   * Record, then forward: 'fsync' puts each command on disk before it reaches the target (survives power
   * loss; costs one fdatasync per command round); 'write' hands it to the OS first (survives a crash of the
   * appliance process, not of the host). See docs/performance.md.
   */
  durability: z.enum(['fsync', 'write']).default('fsync'),
  /** Each protocol's recording settings (`postgres: { resultRows }`), from the registry. */
  ...evidenceBlocks.shape,
});
export const evidenceSchema = z.preprocess(
  (raw, ctx) => (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? evidenceBlocks.legacy.reduce((r, m) => m(r, ctx), raw as Record<string, unknown>) : raw),
  evidenceStrict,
);

const unique = <T extends { name: string }>(what: string) => (list: T[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  list.forEach((x, i) => {
    if (seen.has(x.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${what} ${x.name} is defined twice` });
    seen.add(x.name);
  });
};

export const configSchema = z.strictObject({
  version: z.literal(1),
  appliance: z.strictObject({
    id: z.string().regex(/^[0-9a-f-]{36}$/, 'expected the UUID `vigil init` wrote'),
    dataDir: z.string().default('data'),
    keysDir: z.string().default('keys'),
  }),
  evidence: evidenceSchema,
  /** One block per protocol in the registry (protocols/registry.ts), and the admin API. */
  listeners: listenersSchema(PROTOCOLS, { admin: adminListenerSchema.optional() }).default({}),
  identityProviders: identityProvidersSchema.default([]),
  mtls: mtlsSchema.optional(),
  /** Each validated by the adapter its `protocol:` names. */
  targets: z.array(targetSchema(PROTOCOLS)).default([]).superRefine(unique('target')),
  policies: z.array(policySchema).default([]).superRefine(unique('policy')),
  /** Named time windows policy rules can refer to (when: { outside: business-hours }). */
  schedules: schedulesSchema.default({}),
  approvals: approvalsSchema.default({ expirySeconds: 600, webhooks: [] }),
  /** How long archives are kept (appliance/retention, docs/operations.md). */
  retention: retentionSchema.default(RETENTION_DEFAULTS),
  /** Shipping to an Object Lock bucket (appliance/shipping); off when absent. */
  shipping: shippingSchema.optional(),
  /** SIGTERM: stop accepting, let open sessions end for up to drainSeconds, then end the rest as interrupted. */
  shutdown: z.strictObject({ drainSeconds: seconds(30, 0) }).default({ drainSeconds: 30 }),
  /** What a fleet of appliances shares (docs/fleet.md); absent: this appliance keeps it in its own SQLite. */
  sharedState: sharedStateSchema.optional(),
}).superRefine((c, ctx) => {
  c.policies.forEach((p, i) =>
    p.rules.forEach((r, j) => {
      for (const k of ['within', 'outside'] as const) {
        const name = r.when[k];
        if (name && !c.schedules[name]) ctx.addIssue({ code: 'custom', path: ['policies', i, 'rules', j, 'when', k], message: `no schedule named ${name} (define it under schedules:)` });
      }
    }),
  );
  const targets = new Set(c.targets.map((t) => t.name));
  c.policies.forEach((p, i) =>
    p.targets.forEach((t, j) => {
      if (!t.includes('*') && !t.includes('?') && !targets.has(t)) {
        ctx.addIssue({ code: 'custom', path: ['policies', i, 'targets', j], message: `no target named ${t} (targets: ${[...targets].join(', ') || 'none'})` });
      }
    }),
  );
  checkProtocols(PROTOCOLS, c.listeners, { mtls: c.mtls, evidence: c.evidence }, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
});

export type VigilConfig = z.infer<typeof configSchema>;
