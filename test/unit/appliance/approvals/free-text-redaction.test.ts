/**
 * The free text of an approval request — the command, the justification, every approver's reason — is stored
 * (vigil.db, transparency log), listed and announced with card numbers masked and keyword-anchored security
 * codes redacted, whatever the caller handed over (docs/pan-detection.md). The command hash is left as given.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalService } from '../../../../appliance/approvals/service.ts';
import type { ApprovalDecision, ApprovalRecord } from '../../../../appliance/approvals/types.ts';
import type { WebhookNotifier } from '../../../../appliance/approvals/webhooks.ts';
import { TransparencyLog } from '../../../../appliance/log/transparency-log.ts';
import type { ApprovalRequest } from '../../../../appliance/pipeline/approval-gate.ts';
import { openDatabase, type Db } from '../../../../appliance/store/database.ts';
import { tempDir } from '../../../helpers/evidence.ts';

let db: Db;
let notified: { rec: ApprovalRecord; decision: ApprovalDecision | undefined }[];
let service: ApprovalService;

const CLEAR = 'card 4111 1111 1111 1111 cvv 123';
const SHOWN = 'card 4111 11** **** 1111 cvv [REDACTED CVV]';
const REQUEST: ApprovalRequest = {
  sessionId: '00000000-0000-4000-8000-000000000001',
  sessionSeq: 1,
  commandId: 3,
  display: `UPDATE customers SET note = '${CLEAR}' WHERE id = 2`,
  commandHash: 'ab'.repeat(32),
  rule: 'ci/write',
  reason: 'writes need approval',
  approvers: { groups: ['dba'], required: 1 },
  requester: { subject: 'repo:acme/x', issuer: 'https://issuer', groups: [] },
  target: 'payments',
  classification: [],
  justification: `refund, ${CLEAR}`,
};
const ALICE = { subject: 'alice', issuer: 'https://staff', groups: ['dba'] };

beforeEach(() => {
  db = openDatabase(join(tempDir('vigil-approvals-'), 'vigil.db'));
  notified = [];
  const webhooks = { notify: (_: string, rec: ApprovalRecord, decision?: ApprovalDecision) => notified.push({ rec, decision }) } as unknown as WebhookNotifier;
  const log = new TransparencyLog(db, 'appliance', () => {
    throw new Error('no checkpoints in this test');
  });
  service = new ApprovalService({ db, log, expirySeconds: 60, webhooks, howTo: (id) => `approve ${id}` });
});
afterEach(() => db.close());

const everything = () =>
  JSON.stringify([db.prepare('SELECT * FROM approvals').all(), db.prepare('SELECT * FROM log_entries').all(), notified, service.list()]);

describe('an approval request with a card number and a CVV in its free text', () => {
  it('is stored, logged, listed and announced masked and redacted; the hash stays', async () => {
    const ids: string[] = [];
    void service.request(REQUEST, new AbortController().signal, { pending: async (i) => void ids.push(i.requestId), decided: () => undefined });
    await new Promise((r) => setTimeout(r, 10));
    const id = ids[0]!;
    service.decide(id, ALICE, 'deny', `no: ${CLEAR}`, '127.0.0.1');
    const rec = service.get(id)!;
    expect(rec).toMatchObject({ command: `UPDATE customers SET note = '${SHOWN}' WHERE id = 2`, justification: `refund, ${SHOWN}`, commandHash: 'ab'.repeat(32) });
    expect(rec.decisions.map((d) => d.reason)).toEqual([`no: ${SHOWN}`]);
    expect(rec.outcomeReason).toBe(`no: ${SHOWN}`);
    expect(notified.length).toBeGreaterThan(0);
    const all = everything();
    expect(all).not.toContain('4111 1111 1111 1111');
    expect(all).not.toMatch(/cvv 123/);
  });

  it('one stored in clear by an older version is shown redacted', async () => {
    const ids: string[] = [];
    void service.request({ ...REQUEST, display: 'SELECT 1' }, new AbortController().signal, { pending: async (i) => void ids.push(i.requestId), decided: () => undefined });
    await new Promise((r) => setTimeout(r, 10));
    const id = ids[0]!;
    const raw = JSON.parse(db.prepare('SELECT request FROM approvals WHERE id = ?').pluck().get(id) as string) as ApprovalRecord;
    db.prepare('UPDATE approvals SET request = ? WHERE id = ?').run(JSON.stringify({ ...raw, command: `UPDATE t SET note = '${CLEAR}'` }), id);
    expect(service.get(id)?.command).toBe(`UPDATE t SET note = '${SHOWN}'`);
  });
});
