import { describe, expect, it } from 'vitest';
import { policySchema } from '../../../../appliance/config/schema.ts';
import { scheduleSchema } from '../../../../appliance/policy/config.ts';
import { PolicyEngine, type CommandFacts } from '../../../../appliance/policy/engine.ts';

const policies = [
  policySchema.parse({
    name: 'ci-readonly',
    match: { subjects: ['repo:acme/*'], groups: ['ci-readonly'] },
    targets: ['payments-db'],
    rules: [
      { name: 'no-destructive', when: { classes: ['ddl'], tags: ['drop', 'truncate'] }, action: 'block', reason: 'never on the CDE database' },
      { name: 'refunds', when: { classes: ['write'], tables: ['refund*'] }, action: 'require-approval', approvers: { groups: ['dba'], required: 2 } },
    ],
    statements: { read: 'allow', transaction: 'allow', write: 'require-approval', default: 'block' },
    approvers: { groups: ['payments-approvers'] },
  }),
  policySchema.parse({ name: 'ops', match: { groups: ['ops'] }, targets: ['*'], statements: { read: 'allow' } }),
];
const engine = new PolicyEngine(policies);
const bot = { provider: 'github', subject: 'repo:acme/payments:ref:refs/heads/main', groups: ['ci-readonly'] };
const facts = (c: Partial<CommandFacts>): CommandFacts => ({ class: 'read', command: 'SELECT', tags: [], objects: [], attributes: {}, ...c });

describe('policy', () => {
  it('grants by subject glob and group, per target; otherwise denies with a reason', () => {
    expect(engine.grant(bot, 'payments-db')).toMatchObject({ ok: true, policy: { name: 'ci-readonly' } });
    expect(engine.grant(bot, 'hr-db')).toEqual({ ok: false, reason: 'no policy grants repo:acme/payments:ref:refs/heads/main access to target hr-db' });
    expect(engine.grant({ ...bot, groups: [] }, 'payments-db').ok).toBe(false);
    expect(engine.grant({ ...bot, subject: 'repo:evil/x', groups: ['ops'] }, 'hr-db')).toMatchObject({ ok: true, policy: { name: 'ops' } });
  });

  it('rules first, then the class, then default; unlisted is blocked', () => {
    const p = (engine.grant(bot, 'payments-db') as { policy: import('../../../../appliance/policy/engine.ts').BoundPolicy }).policy;
    expect(p.decide(facts({}), 'postgres')).toEqual({ action: 'allow', rule: 'ci-readonly/read' });
    expect(p.decide(facts({ class: 'ddl', command: 'DROP TABLE', tags: ['drop'] }), 'postgres')).toEqual({ action: 'block', rule: 'ci-readonly/no-destructive', reason: 'never on the CDE database' });
    expect(p.decide(facts({ class: 'ddl', command: 'CREATE TABLE' }), 'postgres')).toMatchObject({ action: 'block', rule: 'ci-readonly/default' });
    expect(p.decide(facts({ class: 'write', command: 'UPDATE', objects: ['public.refunds'] }), 'postgres')).toMatchObject({ action: 'require-approval', rule: 'ci-readonly/refunds', approvers: { groups: ['dba'], required: 2 } });
    expect(p.decide(facts({ class: 'write', command: 'UPDATE', objects: ['public.accounts'] }), 'postgres')).toMatchObject({ action: 'require-approval', rule: 'ci-readonly/write', approvers: { groups: ['payments-approvers'], required: 1 } });
    const ops = (engine.grant({ ...bot, groups: ['ops'] , subject: 'x'}, 'any') as { policy: import('../../../../appliance/policy/engine.ts').BoundPolicy }).policy;
    expect(ops.decide(facts({ class: 'unknown', command: '?' }), 'postgres')).toMatchObject({ action: 'block', rule: 'ops/unlisted' });
  });

  it('several statements: the most restrictive decision wins', () => {
    const p = (engine.grant(bot, 'payments-db') as { policy: import('../../../../appliance/policy/engine.ts').BoundPolicy }).policy;
    expect(p.decideAll([facts({}), facts({ class: 'write', command: 'UPDATE' }), facts({})], 'postgres').action).toBe('require-approval');
    expect(p.decideAll([facts({}), facts({ class: 'ddl', command: 'DROP TABLE', tags: ['drop'] }), facts({ class: 'write', command: 'UPDATE' })], 'postgres').action).toBe('block');
  });

  it('config: require-approval needs approvers', () => {
    const r = policySchema.safeParse({ name: 'x', match: { groups: ['g'] }, targets: ['t'], statements: { write: 'require-approval' } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/require-approval needs the policy to name approvers/);
    expect(policySchema.safeParse({ name: 'x', match: {}, targets: ['t'] }).success).toBe(false);
  });
});

describe('time windows', () => {
  const schedules = { 'business-hours': scheduleSchema.parse({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00', timezone: 'Europe/Berlin' }) };
  const p = policySchema.parse({
    name: 'after-hours',
    match: { groups: ['ops'] },
    targets: ['db'],
    rules: [{ name: 'writes-after-hours', when: { classes: ['write'], outside: 'business-hours' }, action: 'require-approval', approvers: { groups: ['dba'] } }],
    statements: { write: 'allow', read: 'allow' },
  });
  const at = (iso: string) => new PolicyEngine([p], { schedules, now: () => new Date(iso) });
  const decideAt = (iso: string) => {
    const g = at(iso).grant({ provider: 'x', subject: 's', groups: ['ops'] }, 'db');
    if (!g.ok) throw new Error(g.reason);
    return g.policy.decide({ class: 'write', command: 'UPDATE', tags: [], objects: [], attributes: {} }, 'postgres').action;
  };

  it('holds writes outside business hours in the schedule\'s time zone', () => {
    expect(decideAt('2026-11-30T09:30:00Z')).toBe('allow'); // Monday 10:30 in Berlin
    expect(decideAt('2026-11-30T17:30:00Z')).toBe('require-approval'); // Monday 18:30 in Berlin
    expect(decideAt('2026-11-30T06:59:00Z')).toBe('require-approval'); // Monday 07:59 in Berlin
    expect(decideAt('2026-11-29T12:00:00Z')).toBe('require-approval'); // Sunday
  });

  it('rejects a bad schedule', () => {
    expect(scheduleSchema.safeParse({ from: '18:00', to: '08:00' }).success).toBe(false);
    expect(scheduleSchema.safeParse({ from: '08:00', to: '18:00', timezone: 'Mars/Olympus' }).success).toBe(false);
  });
});
