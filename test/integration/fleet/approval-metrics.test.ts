/**
 * Approval metrics in fleet mode (sharedState.postgres, SharedApprovalService): the appliance that holds the
 * session counts the held command in `vigil_approvals_pending` and its decision latency in
 * `vigil_approval_decision_seconds`, whichever appliance the approver used — the same series the local
 * service feeds, because both are counted by the session pipeline (appliance/pipeline/session-telemetry.ts),
 * not by either approval service. The deciding appliance counts nothing: a fleet's sum is not doubled.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startFleet, type Fleet, type FleetNode } from '../../helpers/fleet.ts';
import { bot, later, rejection, until } from '../../helpers/fleet-client.ts';

const METRICS_TOKEN = 'fleet-metrics-9Kd3qVw7Zt2p';
const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, transaction: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`;

let f: Fleet;
let A: FleetNode;
let B: FleetNode;

beforeAll(async () => {
  f = await startFleet({ policies: POLICIES, metricsToken: METRICS_TOKEN });
  [A, B] = f.nodes as [FleetNode, FleetNode];
}, 180_000);
afterAll(async () => {
  await f?.stop();
});

function metrics(node: FleetNode): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${node.adminUrl}/metrics`, { ca: readFileSync(node.adminCa), headers: { authorization: `Bearer ${METRICS_TOKEN}` } }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(t) : reject(new Error(`/metrics: ${res.statusCode} ${t}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One sample's value (0 when the series is absent, as Prometheus reads a never-observed label set). */
async function sample(node: FleetNode, series: string): Promise<number> {
  const line = (await metrics(node)).split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
const pending = (n: FleetNode) => sample(n, 'vigil_approvals_pending');
const decided = (n: FleetNode, outcome: string) => sample(n, `vigil_approval_decision_seconds_count{outcome="${outcome}"}`);

describe('approval metrics across a fleet', () => {
  it('a command held on A and approved through B: pending and latency on A only', async () => {
    expect([await pending(A), await pending(B)]).toEqual([0, 0]);
    const b = await bot(f, A);
    const requested = b.nextRequest();
    const insert = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('fleet metrics approved')"));
    const id = await requested;
    expect([await pending(A), await pending(B)], 'held on A: A counts it, B does not').toEqual([1, 0]);
    const r = await admin(B, 'POST', `/v1/approvals/${id}/approve`, await f.staffToken('dave@acme.test', ['dba']), { reason: 'CHG-9' });
    expect(r.status).toBe(200);
    expect((await insert).rowCount).toBe(1);
    await until('A counts the decision', async () => ((await decided(A, 'approved')) === 1 ? true : undefined));
    expect([await pending(A), await pending(B)]).toEqual([0, 0]);
    expect(await decided(B, 'approved'), 'B decided it but holds no session: nothing counted there').toBe(0);
    const sum = await sample(A, 'vigil_approval_decision_seconds_sum{outcome="approved"}');
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(30);
    await b.c.end();
  });

  it('a command held on B and denied through A: counted on B as denied', async () => {
    const b = await bot(f, B);
    const requested = b.nextRequest();
    const del = later(b.c.query('DELETE FROM audit_scratch'));
    const id = await requested;
    expect([await pending(A), await pending(B)]).toEqual([0, 1]);
    expect((await admin(A, 'POST', `/v1/approvals/${id}/deny`, await f.staffToken('erin@acme.test', ['dba']), { reason: 'freeze' })).status).toBe(200);
    expect((await rejection(del)).code).toBe('42501');
    await until('B counts the denial', async () => ((await decided(B, 'denied')) === 1 ? true : undefined));
    expect([await pending(A), await pending(B)]).toEqual([0, 0]);
    expect([await decided(A, 'denied'), await decided(A, 'approved'), await decided(B, 'approved')]).toEqual([0, 1, 0]);
    await b.c.end();
  });
});
