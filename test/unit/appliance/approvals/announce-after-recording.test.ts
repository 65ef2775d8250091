/**
 * A held command's approval request is offered to approvers (the API's list, decisions, webhooks) only
 * once the session's archive holds it durably: before that, nobody can act on a request the evidence
 * might not contain (a crash would leave an approval the archive never asked for).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalService } from '../../../../appliance/approvals/service.ts';
import type { WebhookNotifier } from '../../../../appliance/approvals/webhooks.ts';
import { TransparencyLog } from '../../../../appliance/log/transparency-log.ts';
import type { ApprovalRequest } from '../../../../appliance/pipeline/approval-gate.ts';
import { openDatabase, type Db } from '../../../../appliance/store/database.ts';
import { tempDir } from '../../../helpers/evidence.ts';

let db: Db;
let notified: string[];
let service: ApprovalService;

const REQUEST: ApprovalRequest = {
  sessionId: '00000000-0000-4000-8000-000000000001',
  sessionSeq: 1,
  commandId: 3,
  display: 'DELETE FROM accounts WHERE id <= 50',
  commandHash: 'ab'.repeat(32),
  rule: 'ci/write',
  reason: 'writes need approval',
  approvers: { groups: ['dba'], required: 1 },
  requester: { subject: 'repo:acme/x', issuer: 'https://issuer', groups: [] },
  target: 'payments',
  classification: [],
};
const ALICE = { subject: 'alice', issuer: 'https://staff', groups: ['dba'] };

beforeEach(() => {
  db = openDatabase(join(tempDir('vigil-approvals-'), 'vigil.db'));
  notified = [];
  const webhooks = { notify: (event: string) => notified.push(event) } as unknown as WebhookNotifier;
  const log = new TransparencyLog(db, 'appliance', () => {
    throw new Error('no checkpoints in this test');
  });
  service = new ApprovalService({ db, log, expirySeconds: 60, webhooks, howTo: (id) => `approve ${id}` });
});
afterEach(() => db.close());

/** A listener whose recording completes when the test says so. */
function recorder() {
  let done!: () => void;
  let fail!: (e: Error) => void;
  const durable = new Promise<void>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  const ids: string[] = [];
  return {
    ids,
    done: () => done(),
    fail: (e: Error) => fail(e),
    listener: {
      pending: (info: { requestId: string }) => {
        ids.push(info.requestId);
        return durable;
      },
      decided: () => undefined,
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('an approval request is offered only once it is recorded', () => {
  it('is neither listed, nor decidable, nor announced while its recording is not durable', async () => {
    const r = recorder();
    const outcome = service.request(REQUEST, new AbortController().signal, r.listener);
    await settle();
    const id = r.ids[0]!;
    expect(id).toMatch(/^apr_/);
    expect(service.list('pending').map((a) => a.id)).not.toContain(id);
    expect(() => service.decide(id, ALICE, 'approve', null, null)).toThrow(/still being recorded/);
    expect(notified).toEqual([]);
    r.done();
    await settle();
    expect(service.list('pending').map((a) => a.id)).toContain(id);
    expect(notified).toEqual(['requested']);
    service.decide(id, ALICE, 'approve', null, null);
    await expect(outcome).resolves.toMatchObject({ approved: true, requestId: id });
  });

  it('is cancelled, never offered, when its recording fails', async () => {
    const r = recorder();
    const outcome = service.request(REQUEST, new AbortController().signal, r.listener);
    await settle();
    r.fail(new Error('disk full'));
    await expect(outcome).resolves.toMatchObject({ approved: false, kind: 'cancelled', reason: expect.stringMatching(/could not be recorded: disk full/) });
    expect(notified).toEqual([]);
    expect(service.get(r.ids[0]!)?.status).toBe('cancelled');
  });

  it('a client that goes away while it is being recorded cancels it', async () => {
    const r = recorder();
    const gone = new AbortController();
    const outcome = service.request(REQUEST, gone.signal, r.listener);
    await settle();
    gone.abort();
    await expect(outcome).resolves.toMatchObject({ approved: false, kind: 'cancelled' });
    r.done();
    await settle();
    expect(service.list('pending')).toEqual([]);
    expect(notified).toEqual([]);
  });
});
