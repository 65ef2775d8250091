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

/**
 * What a rule's `when` looks like once parsed: protocol-neutral. `when.tables`/`tablesMatch` (PostgreSQL's
 * spelling, still accepted) become `objects` with `protocols: [postgres]`; see whenSchema.
 */
const whenInput = z.strictObject({
  /** Command classes (e.g. read, write, ddl, role-change, unknown for SQL; exec, shell for SSH). */
  classes: names.optional(),
  /** Any of these tags (e.g. drop, truncate, cte-write, dangerous-function:pg_read_file). */
  tags: names.optional(),
  /** Only for sessions of these protocols (globs: postgres, ssh…). */
  protocols: names.optional(),
  /**
   * The objects the command touches, as the adapter resolves them (PostgreSQL: `schema.table` relations as
   * the target resolves them), '*' globs. See objectsMatch for how many must match.
   */
  objects: names.optional(),
  /**
   * `all`: the rule applies only when every object the command touches matches `objects`; `any`: when one
   * does. Default: `all` for allow rules (an allow for payments.* must not let a join with another schema
   * through), `any` for block and require-approval rules (a block on refunds must catch a join that
   * touches refunds).
   */
  objectsMatch: z.enum(['all', 'any']).optional(),
  /** Per attribute the adapter reports (PostgreSQL: database, queryMode), globs: every key listed must match. */
  attributes: z.record(z.string().min(1), names).optional(),
  /**
   * PostgreSQL's spelling of `objects` (kept so existing configs work): applies to PostgreSQL only, and a
   * pattern without a dot names a relation in any schema (`refunds` = `*.refunds` or `refunds`).
   */
  tables: names.optional(),
  tablesMatch: z.enum(['all', 'any']).optional(),
  /** Any of these command labels (e.g. 'DROP TABLE', 'SET ROLE'). */
  commands: names.optional(),
  /** Only inside / outside a named schedule (schedules: in vigil.yaml), e.g. outside: business-hours. */
  within: z.string().optional(),
  outside: z.string().optional(),
});

export const POSTGRES = 'postgres';

const whenSchema = whenInput
  .superRefine((w, ctx) => {
    if (w.tables && w.objects) ctx.addIssue({ code: 'custom', message: 'when.tables is the PostgreSQL spelling of when.objects (with when.protocols: [postgres]); give one of them' });
    if (w.tables && w.protocols) ctx.addIssue({ code: 'custom', message: 'when.tables applies to PostgreSQL only; with when.protocols write when.objects (`*.name` for a relation in any schema)' });
    if (w.tablesMatch && !w.tables) ctx.addIssue({ code: 'custom', message: 'tablesMatch goes with when.tables; with when.objects write objectsMatch' });
    if (w.tablesMatch && w.objectsMatch) ctx.addIssue({ code: 'custom', message: 'give objectsMatch or tablesMatch, not both' });
  })
  .transform(({ tables, tablesMatch, ...w }) => {
    if (!tables) return w;
    // A table pattern without a dot names a relation in any schema (or an unqualified name).
    const objects = tables.flatMap((t) => (t.includes('.') ? [t] : [`*.${t}`, t]));
    return { ...w, protocols: [POSTGRES], objects, ...(tablesMatch ? { objectsMatch: tablesMatch } : {}) };
  });

export const ruleSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'a rule name is letters, digits, dots, dashes'),
  when: whenSchema.prefault({}),
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

/** The protocol-neutral keys of a policy; each protocol adds its own block (`postgres: {…}`) in config/schema.ts. */
const neutralPolicyShape = {
  name: z.string().min(1),
  /** Who this policy is for: every listed criterion that is present must match (globs with '*'). */
  match: z
    .strictObject({ subjects: names.optional(), groups: names.optional(), providers: names.optional() })
    .refine((m) => m.subjects || m.groups || m.providers, 'match needs at least one of subjects, groups, providers'),
  targets: names,
  rules: z.array(ruleSchema).default([]),
  /** Action per command class; `default` covers classes not listed. Unlisted and no default → block. */
  classes: z.record(z.string(), action).default({}),
  /** Who approves what `classes` sends to require-approval (rules may name their own). */
  approvers: approvers.optional(),
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
};

/**
 * Rewrites keys that moved (an old config keeps working): returns the input with each old key at its new
 * place, or records an issue naming the new key when both places are given.
 */
export type LegacyMapping = (raw: Record<string, unknown>, ctx: z.RefinementCtx) => Record<string, unknown>;

/** `statements:` is the old name of `classes:` (a class of command, whatever the protocol). */
const legacyNeutral: LegacyMapping = (raw, ctx) => {
  if (!('statements' in raw)) return raw;
  if ('classes' in raw) {
    ctx.addIssue({ code: 'custom', path: ['statements'], message: 'statements: is the old name of classes:; keep only classes:' });
    return raw;
  }
  const { statements, ...rest } = raw;
  return { ...rest, classes: statements };
};

/** Moves `from` (a key path in raw) to `to`, unless `to` is already given (then an issue naming it). */
export function moveKey(raw: Record<string, unknown>, ctx: z.RefinementCtx, from: readonly string[], to: readonly string[], shownAs = to.join('.')): Record<string, unknown> {
  const value = getPath(raw, from);
  if (value === undefined) return raw;
  if (getPath(raw, to) !== undefined) {
    ctx.addIssue({ code: 'custom', path: [...from], message: `${from.join('.')} moved to ${shownAs}; give it only there` });
    return raw;
  }
  return setPath(deletePath(raw, from), to, value);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function getPath(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const k of path) cur = isRecord(cur) ? cur[k] : undefined;
  return cur;
}

/** Copies along the path (the caller's object is not changed); an emptied parent is removed. */
function deletePath(o: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined || !(head in o)) return o;
  const { [head]: child, ...others } = o;
  if (rest.length === 0) return others;
  if (!isRecord(child)) return o;
  const next = deletePath(child, rest);
  return Object.keys(next).length === 0 ? others : { ...others, [head]: next };
}

function setPath(o: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return o;
  if (rest.length === 0) return { ...o, [head]: value };
  const child = o[head];
  return { ...o, [head]: setPath(isRecord(child) ? child : {}, rest, value) };
}

type NeutralOutput = z.output<z.ZodObject<typeof neutralPolicyShape>>;

function needApprovers(p: NeutralOutput, ctx: z.RefinementCtx): void {
  for (const [i, r] of p.rules.entries()) {
    if (r.action === 'require-approval' && !r.approvers && !p.approvers) {
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'approvers'], message: 'require-approval needs approvers: { groups: [...] } (here or on the policy)' });
    }
  }
  for (const [cls, a] of Object.entries(p.classes)) {
    if (a === 'require-approval' && !p.approvers) {
      ctx.addIssue({ code: 'custom', path: ['classes', cls], message: 'require-approval needs the policy to name approvers: { groups: [...] }' });
    }
  }
}

/**
 * A policy schema: the neutral keys plus each protocol's block (`{ postgres: postgresPolicySchema }`), with
 * each protocol's legacy mapping applied to the raw input first.
 */
export function policySchemaWith<B extends z.ZodRawShape>(blocks: B, legacy: readonly LegacyMapping[] = []) {
  const strict = z
    .strictObject({ ...neutralPolicyShape, ...blocks })
    .superRefine((p, ctx) => needApprovers(p as unknown as NeutralOutput, ctx));
  return z.preprocess((raw, ctx) => (isRecord(raw) ? [legacyNeutral, ...legacy].reduce((r, m) => m(r, ctx), raw) : raw), strict);
}

/** The neutral policy (no protocol block): what the policy engine reads. */
export const neutralPolicySchema = policySchemaWith({});
export type PolicyConfig = z.infer<typeof neutralPolicySchema>;
