/**
 * Protocol-neutral command facts (issue 10): rules match objects, protocols and attributes; PostgreSQL's
 * own settings live under `postgres:`; the old PostgreSQL spellings still parse (mapped) or fail naming the
 * new key.
 */
import { describe, expect, it } from 'vitest';
import { evidenceSchema, policySchema } from '../../../../appliance/config/schema.ts';
import { postgresEvidenceOf, postgresPolicyOf } from '../../../../appliance/protocols/postgres/policy-config.ts';
import { sshPolicyOf } from '../../../../appliance/protocols/ssh/policy-config.ts';
import { PolicyEngine, type BoundPolicy, type CommandFacts } from '../../../../appliance/policy/engine.ts';

const base = { name: 'p', match: { groups: ['g'] }, targets: ['t'] };
const bound = (p: Record<string, unknown>): BoundPolicy => {
  const g = new PolicyEngine([policySchema.parse({ ...base, ...p })]).grant({ provider: 'x', subject: 's', groups: ['g'] }, 't');
  if (!g.ok) throw new Error(g.reason);
  return g.policy;
};
const facts = (c: Partial<CommandFacts>): CommandFacts => ({ class: 'read', command: 'SELECT', tags: [], objects: [], attributes: {}, ...c });
const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  (r.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');

describe('when.objects', () => {
  const p = bound({
    rules: [
      { name: 'payments-reads', when: { classes: ['read'], objects: ['payments.*'] }, action: 'allow' },
      { name: 'no-refunds', when: { objects: ['*.refunds'] }, action: 'block' },
    ],
    classes: { read: 'require-approval', write: 'allow' },
    approvers: { groups: ['dba'] },
  });

  it('an allow rule needs every object to match, a block rule one (as when.tables did)', () => {
    expect(p.decide(facts({ objects: ['payments.cards'] }), 'postgres')).toEqual({ action: 'allow', rule: 'p/payments-reads' });
    expect(p.decide(facts({ objects: ['payments.cards', 'public.secrets'] }), 'postgres').rule).toBe('p/read');
    expect(p.decide(facts({ class: 'write', objects: ['public.a', 'public.refunds'] }), 'postgres')).toMatchObject({ action: 'block', rule: 'p/no-refunds' });
    expect(p.decide(facts({ class: 'write', objects: ['public.a'] }), 'postgres').action).toBe('allow');
  });

  it('a command with no objects never matches an objects rule', () => {
    expect(p.decide(facts({}), 'postgres').rule).toBe('p/read');
  });

  it('objects are plain globs: no schema shorthand (that is when.tables)', () => {
    const q = bound({ rules: [{ name: 'r', when: { objects: ['refunds'] }, action: 'block' }], classes: { default: 'allow' } });
    expect(q.decide(facts({ objects: ['public.refunds'] }), 'postgres').action).toBe('allow');
    expect(q.decide(facts({ objects: ['refunds'] }), 'ssh').action).toBe('block');
  });

  it('objectsMatch overrides the default', () => {
    const q = bound({ rules: [{ name: 'r', when: { objects: ['a.*'], objectsMatch: 'any' }, action: 'allow' }], classes: {} });
    expect(q.decide(facts({ objects: ['a.x', 'b.y'] }), 'postgres').action).toBe('allow');
  });
});

describe('when.tables: the PostgreSQL spelling of when.objects', () => {
  const p = bound({ rules: [{ name: 'refunds', when: { tables: ['refunds', 'payments.*'] }, action: 'block' }], classes: { default: 'allow' } });

  it('keeps its schema shorthand and its all/any defaults, for PostgreSQL commands', () => {
    expect(p.decide(facts({ objects: ['public.refunds'] }), 'postgres').action).toBe('block');
    expect(p.decide(facts({ objects: ['refunds'] }), 'postgres').action).toBe('block');
    expect(p.decide(facts({ objects: ['payments.cards', 'public.x'] }), 'postgres').action).toBe('block');
    expect(p.decide(facts({ objects: ['public.x'] }), 'postgres').action).toBe('allow');
    const allow = bound({ rules: [{ name: 'a', when: { tables: ['payments.*'] }, action: 'allow' }], classes: {} });
    expect(allow.decide(facts({ objects: ['payments.cards', 'public.secrets'] }), 'postgres').action).toBe('block');
    expect(allow.decide(facts({ objects: ['payments.cards'] }), 'postgres').action).toBe('allow');
  });

  it('applies to PostgreSQL only', () => {
    expect(p.decide(facts({ objects: ['/srv/public.refunds'] }), 'ssh').action).toBe('allow');
  });

  it('cannot be combined with when.objects or when.protocols: the message says what to write', () => {
    const both = policySchema.safeParse({ ...base, rules: [{ name: 'r', when: { tables: ['a'], objects: ['b'] }, action: 'block' }] });
    expect(both.success).toBe(false);
    expect(messages(both)).toMatch(/rules\.0\.when: when\.tables is the PostgreSQL spelling of when\.objects.*give one of them/);
    const proto = policySchema.safeParse({ ...base, rules: [{ name: 'r', when: { tables: ['a'], protocols: ['ssh'] }, action: 'block' }] });
    expect(messages(proto)).toMatch(/when\.tables applies to PostgreSQL only; with when\.protocols write when\.objects/);
    const mode = policySchema.safeParse({ ...base, rules: [{ name: 'r', when: { objects: ['a'], tablesMatch: 'any' }, action: 'block' }] });
    expect(messages(mode)).toMatch(/tablesMatch goes with when\.tables; with when\.objects write objectsMatch/);
  });
});

describe('when.protocols', () => {
  const p = bound({
    rules: [{ name: 'no-rm', when: { protocols: ['ssh'], commands: ['rm'] }, action: 'block' }],
    classes: { default: 'allow' },
  });

  it('limits a rule to the listed protocols (globs)', () => {
    expect(p.decide(facts({ class: 'exec', command: 'rm' }), 'ssh').action).toBe('block');
    expect(p.decide(facts({ class: 'exec', command: 'rm' }), 'postgres').action).toBe('allow');
    const g = bound({ rules: [{ name: 'r', when: { protocols: ['s*'] }, action: 'block' }], classes: { default: 'allow' } });
    expect(g.decide(facts({}), 'ssh').action).toBe('block');
  });
});

describe('when.attributes', () => {
  const p = bound({
    rules: [{ name: 'ext', when: { attributes: { database: ['pay*'], queryMode: ['extended', 'fastpath'] } }, action: 'block' }],
    classes: { default: 'allow' },
  });

  it('every listed key must be present and match one of its globs', () => {
    expect(p.decide(facts({ attributes: { database: 'payments', queryMode: 'extended' } }), 'postgres').action).toBe('block');
    expect(p.decide(facts({ attributes: { database: 'payments', queryMode: 'simple' } }), 'postgres').action).toBe('allow');
    expect(p.decide(facts({ attributes: { database: 'hr', queryMode: 'extended' } }), 'postgres').action).toBe('allow');
    expect(p.decide(facts({ attributes: { queryMode: 'extended' } }), 'postgres').action).toBe('allow');
  });

  it('a command of several facts: the most restrictive wins', () => {
    const ok = facts({ attributes: { database: 'payments', queryMode: 'simple' } });
    const bad = facts({ attributes: { database: 'payments', queryMode: 'fastpath' } });
    expect(p.decideAll([ok, bad, ok], 'postgres').action).toBe('block');
    expect(p.decideAll([ok, ok], 'postgres').action).toBe('allow');
  });

  it('needs at least one glob per key', () => {
    expect(policySchema.safeParse({ ...base, rules: [{ name: 'r', when: { attributes: { database: [] } }, action: 'block' }] }).success).toBe(false);
  });
});

describe('classes: (was statements:)', () => {
  it('statements: still parses, as classes:', () => {
    const p = policySchema.parse({ ...base, statements: { read: 'allow' } });
    expect(p.classes).toEqual({ read: 'allow' });
    expect(bound({ statements: { read: 'allow' } }).decide(facts({}), 'postgres').action).toBe('allow');
  });

  it('both: refused, naming the key to keep', () => {
    const r = policySchema.safeParse({ ...base, statements: { read: 'allow' }, classes: { read: 'allow' } });
    expect(messages(r)).toMatch(/statements: is the old name of classes:; keep only classes:/);
  });

  it('require-approval in classes still needs approvers', () => {
    expect(messages(policySchema.safeParse({ ...base, classes: { write: 'require-approval' } }))).toMatch(/classes\.write: require-approval needs the policy to name approvers/);
  });
});

describe('PostgreSQL settings live under postgres:', () => {
  it('defaults', () => {
    expect(postgresPolicyOf(policySchema.parse(base))).toEqual({ allowStartupOptions: false, masking: { redactColumns: [], unmaskColumns: [], derivedPan: 'redact' } });
    expect((policySchema.parse(base) as Record<string, unknown>)['postgres']).toBeDefined();
    expect(postgresEvidenceOf(evidenceSchema.parse({ auditors: ['a.pub'] }))).toEqual({ resultRows: 100 });
    expect((evidenceSchema.parse({ auditors: ['a.pub'] }) as Record<string, unknown>)['postgres']).toEqual({ resultRows: 100 });
    // Blocks come from the protocol registry: SSH's is there too, with its defaults.
    expect(sshPolicyOf(policySchema.parse(base))).toEqual({ env: ['LANG', 'LC_*', 'TERM', 'COLORTERM', 'TZ'], shell: { allow: true }, forwarding: { allow: [] }, transfers: { clearPan: 'block' } });
    expect((policySchema.parse(base) as Record<string, unknown>)['ssh']).toBeDefined();
  });

  it('the old places still parse, mapped to the new keys', () => {
    const p = policySchema.parse({ ...base, allowStartupOptions: true, masking: { redactColumns: ['ssn'], derivedPan: 'block' } });
    expect(postgresPolicyOf(p)).toEqual({ allowStartupOptions: true, masking: { redactColumns: ['ssn'], unmaskColumns: [], derivedPan: 'block' } });
    expect(p).not.toHaveProperty('masking');
    expect(p).not.toHaveProperty('allowStartupOptions');
    const e = evidenceSchema.parse({ auditors: ['a.pub'], resultRows: 5 });
    expect(postgresEvidenceOf(e)).toEqual({ resultRows: 5 });
    expect(e).not.toHaveProperty('resultRows');
  });

  it('old and new place together: refused, naming the new key', () => {
    const p = policySchema.safeParse({ ...base, allowStartupOptions: true, postgres: { allowStartupOptions: false } });
    expect(messages(p)).toMatch(/allowStartupOptions: allowStartupOptions moved to postgres\.allowStartupOptions; give it only there/);
    const m = policySchema.safeParse({ ...base, masking: { unmaskColumns: ['pan'] }, postgres: { masking: { unmaskColumns: [] } } });
    expect(messages(m)).toMatch(/masking\.unmaskColumns moved to postgres\.masking\.unmaskColumns; give it only there/);
    const e = evidenceSchema.safeParse({ auditors: ['a.pub'], resultRows: 5, postgres: { resultRows: 6 } });
    expect(messages(e)).toMatch(/resultRows: resultRows moved to evidence\.postgres\.resultRows; give it only there/);
  });

  it('an unknown key under the old masking: is still refused', () => {
    expect(policySchema.safeParse({ ...base, masking: { redactColumn: ['ssn'] } }).success).toBe(false);
  });
});
