/**
 * An approval gate that cannot create a request (its database fails, say) refuses the held command — fail
 * closed — and the archive still ends the hold with an outcome that says why: never a dangling `hold`,
 * never a session torn down as a "recording failure" it was not.
 */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import type { ApprovalGate } from '../../../appliance/pipeline/approval-gate.ts';
import { exportAndVerify, startGatewayFixture } from '../../helpers/gateway.ts';

const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: ['payments*']
    statements: { read: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`;

const broken: ApprovalGate = {
  request: () => {
    throw new Error('approvals store is unavailable');
  },
};

let events: EvidenceEvent[] = [];
let refusal: { code?: string; message: string } | undefined;
let after: unknown;

beforeAll(async () => {
  const f = await startGatewayFixture({ policies: POLICIES, approvals: broken });
  const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
  await c.connect();
  await c.query("UPDATE accounts SET status = 'x' WHERE id = 1").catch((e: Error & { code?: string }) => (refusal = { code: e.code, message: e.message }));
  after = (await c.query('SELECT 1 AS ok')).rows;
  await c.end();
  await f.gateway.stop();
  const exported = await exportAndVerify(f);
  expect(exported.report.ok).toBe(true);
  events = [...exported.sessions.values()].flat();
  await f.pg.stop();
}, 120_000);

describe('an approval gate that fails', () => {
  it('refuses the held command with 42501 saying why; the session carries on', () => {
    expect(refusal).toEqual({ code: '42501', message: 'not approved (Vigil rule "ci/write"): the approval request could not be created: approvals store is unavailable' });
    expect(after).toEqual([{ ok: 1 }]);
  });

  it('ends the hold with a recorded denial, linked error and all', () => {
    const cmd = events.find((e) => e.type === 'command' && String(e.text).startsWith('UPDATE accounts'))!;
    const decisions = events.filter((e) => e.type === 'decision' && e.command === cmd.id);
    expect(decisions.map((e) => e.decision)).toEqual(['hold', 'denied']);
    expect(decisions[1]).toMatchObject({ requestId: null, reason: 'the approval request could not be created: approvals store is unavailable' });
    expect(events.filter((e) => e.type === 'error' && e.command === cmd.id).map((e) => e.code)).toEqual(['42501']);
    expect(events.some((e) => e.type === 'result' && e.command === cmd.id)).toBe(false);
  });
});
