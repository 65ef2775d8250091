/**
 * Policy configuration: who (subjects, groups, providers) may reach which targets, and what each class of
 * command gets there — allow, block, or require-approval — with finer named rules evaluated first.
 */
import { z } from 'zod';

export const ACTIONS = ['allow', 'block', 'require-approval'] as const;
export type Action = (typeof ACTIONS)[number];

const action = z.enum(ACTIONS);
const names = z.array(z.string().min(1)).min(1);
const approvers = z.strictObject({
  groups: names,
  required: z.number().int().min(1).max(10).default(1),
  /** Overrides approvals.expirySeconds for requests under this rule. */
  expirySeconds: z.number().int().min(5).max(7 * 24 * 3600).optional(),
});

export const ruleSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'a rule name is letters, digits, dots, dashes'),
  when: z
    .strictObject({
      /** Statement/command classes (e.g. read, write, ddl, role-change, unknown; shell, exec for SSH). */
      classes: names.optional(),
      /** Any of these tags (e.g. drop, truncate, cte-write, dangerous-function:pg_read_file). */
      tags: names.optional(),
      /**
       * Relations, resolved as the target resolves them (`schema.name`): a pattern without a dot names a
       * relation in any schema (`refunds`), with one a schema and name (`payments.*`); '*' globs allowed.
       * See tablesMatch for how many of the statement's relations must match.
       */
      tables: names.optional(),
      /**
       * `all`: the rule applies only when every relation the statement touches matches `tables`; `any`:
       * when one does. Default: `all` for allow rules (an allow for payments.* must not let a join with
       * another schema through), `any` for block and require-approval rules (a block on refunds must catch a
       * join that touches refunds).
       */
      tablesMatch: z.enum(['all', 'any']).optional(),
      /** Any of these command labels (e.g. 'DROP TABLE', 'SET ROLE'). */
      commands: names.optional(),
      /** Only inside / outside a named schedule (schedules: in vigil.yaml), e.g. outside: business-hours. */
      within: z.string().optional(),
      outside: z.string().optional(),
    })
    .default({}),
  action,
  reason: z.string().max(500).optional(),
  /** For require-approval: who may approve and how many distinct approvers are needed. */
  approvers: approvers.optional(),
});
export type RuleConfig = z.infer<typeof ruleSchema>;

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h)');

export const scheduleSchema = z
  .strictObject({
    days: z.array(z.enum(DAYS)).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri']),
    from: hhmm,
    to: hhmm,
    /** IANA time zone, e.g. Europe/Berlin (default UTC). */
    timezone: z.string().default('UTC'),
  })
  .refine((s) => s.from < s.to, 'from must be earlier than to')
  .refine((s) => {
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: s.timezone });
      return true;
    } catch {
      return false;
    }
  }, 'unknown time zone');
export type ScheduleConfig = z.infer<typeof scheduleSchema>;
export const schedulesSchema = z.record(z.string(), scheduleSchema);

/** PCI DSS 8.2.8: re-authenticate after 15 minutes idle. */
export const DEFAULT_IDLE_SECONDS = 900;

export const policySchema = z
  .strictObject({
    name: z.string().min(1),
    /** Who this policy is for: every listed criterion that is present must match (globs with '*'). */
    match: z
      .strictObject({ subjects: names.optional(), groups: names.optional(), providers: names.optional() })
      .refine((m) => m.subjects || m.groups || m.providers, 'match needs at least one of subjects, groups, providers'),
    targets: names,
    rules: z.array(ruleSchema).default([]),
    /** Action per command class; `default` covers classes not listed. Unlisted and no default → block. */
    statements: z.record(z.string(), action).default({}),
    /** Who approves what `statements` sends to require-approval (rules may name their own). */
    approvers: approvers.optional(),
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
      .default({ redactColumns: [], unmaskColumns: [], derivedPan: 'redact' }),
    /** May the client set GUCs with the startup `options` parameter (e.g. -c role=…)? */
    allowStartupOptions: z.boolean().default(false),
    /**
     * How long a session may last (docs/policy.md, "Session limits"). idleSeconds: no client message for
     * that long while nothing runs ends the session (PCI DSS 8.2.8: 15 minutes, the default).
     * maxSessionSeconds: the session ends this long after it started (no default: a token's session already
     * ends when the token expires). maxStatementSeconds: a statement running longer is cancelled.
     */
    limits: z
      .strictObject({
        idleSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_IDLE_SECONDS),
        maxSessionSeconds: z.number().int().min(1).max(7 * 86_400).optional(),
        maxStatementSeconds: z.number().int().min(1).max(86_400).optional(),
      })
      .default({ idleSeconds: DEFAULT_IDLE_SECONDS }),
  })
  .superRefine((p, ctx) => {
    for (const [i, r] of p.rules.entries()) {
      if (r.action === 'require-approval' && !r.approvers && !p.approvers) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'approvers'], message: 'require-approval needs approvers: { groups: [...] } (here or on the policy)' });
      }
    }
    for (const [cls, a] of Object.entries(p.statements)) {
      if (a === 'require-approval' && !p.approvers) {
        ctx.addIssue({ code: 'custom', path: ['statements', cls], message: 'require-approval needs the policy to name approvers: { groups: [...] }' });
      }
    }
  });
export type PolicyConfig = z.infer<typeof policySchema>;
