/**
 * Synthetic but realistic sessions for `vigil demo-evidence`, written through the same recorder the
 * gateway uses. Card numbers appear only masked (as the masker would have left them); the times follow a
 * simulated clock so replays have real pacing.
 */
import { utf8 } from '../../shared/bytes.ts';
import type { SessionContext } from '../../shared/evidence/archive-format.ts';
import { createHash } from 'node:crypto';
import type { SessionRecorder } from '../evidence/session-recorder.ts';
import type { TransparencyLog } from '../log/transparency-log.ts';

export class DemoClock {
  constructor(private t: number) {}
  readonly now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

const ciBot = {
  subject: 'repo:acme/payments:ref:refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
  method: 'oidc-jwt',
  groups: ['ci-readonly'],
  tokenId: 'a1b2c3d4-jti-0001',
  tokenHash: 'b2k:5f1d9c0e7a6b4c3d',
};
const pgTarget = { name: 'payments-db', address: 'db.cde.internal:5432', user: 'svc_reporting', credentialRef: 'file:/etc/vigil/secrets/payments-db' };

function pgContext(identity: SessionContext['identity']): SessionContext {
  return { protocol: 'postgres', identity, target: pgTarget, client: { address: '10.20.0.14:51544', tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384' } };
}

/** A reporting bot reads customers: PANs come back masked, CVV redacted. */
export async function maskedSelectSession(rec: SessionRecorder, clock: DemoClock): Promise<void> {
  const s = rec.start(pgContext(ciBot));
  s.record({ type: 'session.open', protocol: 'postgres', client: { address: '10.20.0.14:51544' } });
  s.record({ type: 'identity.verified', ...ciBot });
  clock.advance(40);
  s.record({ type: 'command', id: 1, kind: 'sql', text: 'SELECT id, name, card_number, cvv FROM customers WHERE country = $1 LIMIT 3', params: ['DE'], classification: [{ class: 'read', command: 'SELECT', tags: [], tables: ['public.customers'] }] });
  s.record({ type: 'decision', command: 1, decision: 'allow', rule: 'ci-readonly-select' });
  clock.advance(3);
  s.record({
    type: 'result',
    command: 1,
    status: 'ok',
    tag: 'SELECT 3',
    columns: ['id', 'name', 'card_number', 'cvv'],
    rows: [
      ['1001', 'Erika Mustermann', '411111******1111', '[REDACTED]'],
      ['1002', 'Hans Schmidt', '555555******4444', '[REDACTED]'],
      ['1003', 'Lena Vogel', '378282*****0005', '[REDACTED]'],
    ],
    rowCount: 3,
    rowsOmitted: 0,
    durationMs: 2.8,
  });
  s.record({ type: 'masking', command: 1, count: 6, kinds: { pan: 3, redacted: 3 } });
  clock.advance(120);
  await s.sync();
  await s.close('client terminated the session (Terminate)');
}

/** A migration bot tries to drop a table: blocked by policy, the session continues. */
export async function blockedDropSession(rec: SessionRecorder, clock: DemoClock): Promise<void> {
  const identity = { ...ciBot, subject: 'repo:acme/payments-migrations:environment:production', groups: ['ci-migrations'], tokenId: 'a1b2c3d4-jti-0002' };
  const s = rec.start(pgContext(identity));
  s.record({ type: 'session.open', protocol: 'postgres', client: { address: '10.20.0.15:40112' } });
  s.record({ type: 'identity.verified', ...identity });
  clock.advance(25);
  s.record({ type: 'command', id: 1, kind: 'sql', text: 'DROP TABLE customers', classification: [{ class: 'ddl', command: 'DROP TABLE', tags: ['drop'], tables: ['public.customers'] }] });
  s.record({ type: 'decision', command: 1, decision: 'block', rule: 'no-destructive-ddl', reason: 'DROP is never allowed on the CDE database' });
  s.record({ type: 'error', command: 1, code: '42501', message: 'blocked by Vigil policy "no-destructive-ddl": DROP is never allowed on the CDE database' });
  clock.advance(60);
  s.record({ type: 'command', id: 2, kind: 'sql', text: 'SELECT count(*) FROM customers', classification: [{ class: 'read', command: 'SELECT', tags: [], tables: ['public.customers'] }] });
  s.record({ type: 'decision', command: 2, decision: 'allow', rule: 'ci-readonly-select' });
  s.record({ type: 'result', command: 2, status: 'ok', tag: 'SELECT 1', columns: ['count'], rows: [['48210']], rowCount: 1, rowsOmitted: 0, durationMs: 9.1 });
  clock.advance(30);
  await s.close('client terminated the session (Terminate)');
}

/** A privileged UPDATE held until a human approves exactly that statement (as the approval service logs it). */
export async function approvalSession(rec: SessionRecorder, clock: DemoClock, log: TransparencyLog): Promise<void> {
  const identity = { ...ciBot, subject: 'spiffe://acme.internal/ns/billing/sa/refund-worker', issuer: 'https://spire.acme.internal', groups: ['billing-workers'], tokenId: 'svid-77f0' };
  const s = rec.start(pgContext(identity));
  s.record({ type: 'session.open', protocol: 'postgres', client: { address: '10.20.3.8:38822' } });
  s.record({ type: 'identity.verified', ...identity });
  clock.advance(15);
  const text = "UPDATE accounts SET status = 'closed' WHERE id = 88231 -- vigil:justification=CHG-4411 customer request";
  // As the gateway binds it: SHA-256(session id, NUL, length-prefixed exact command bytes).
  const exact = Buffer.from(text);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(exact.length);
  const commandHash = createHash('sha256').update(s.id).update('\0').update(len).update(exact).digest('hex');
  const requestId = 'apr_7Q2M9Xdemo01';
  const rule = 'billing-workers/writes-need-approval';
  s.record({ type: 'command', id: 1, kind: 'sql', text, classification: [{ class: 'write', command: 'UPDATE', tags: [], tables: ['public.accounts'] }] });
  s.record({ type: 'decision', command: 1, decision: 'hold', rule, reason: 'UPDATE (write) is allowed only with approval for this identity on this target' });
  const expiresAt = new Date(clock.now().getTime() + 600_000).toISOString();
  s.record({ type: 'approval.requested', command: 1, requestId, rule, commandHash, approvers: { groups: ['payments-leads'], required: 1 }, justification: 'CHG-4411 customer request', expiresAt });
  log.append('approval.requested', { requestId, sessionId: s.id, command: 1, commandHash, rule, requester: identity.subject, target: 'payments-db', required: 1, expiresAt });
  clock.advance(94_000);
  const at = clock.now().toISOString();
  s.record({ type: 'approval.decided', command: 1, requestId, decision: 'approved', approver: { subject: 'alice@acme.example', issuer: 'https://login.acme.example' }, reason: 'matches CHG-4411', address: '10.1.0.22', at, commandHash, remaining: 0 });
  log.append('approval.decided', { requestId, sessionId: s.id, commandHash, approver: 'alice@acme.example', approverIssuer: 'https://login.acme.example', decision: 'approve', reason: 'matches CHG-4411', remaining: 0 });
  s.record({ type: 'decision', command: 1, decision: 'approved', rule, commandHash, approvedBy: ['alice@acme.example'], requestId });
  // As hold() records it: the approved command handed to the target.
  s.record({ type: 'command.released', command: 1, requestId, commandHash });
  clock.advance(12);
  s.record({ type: 'result', command: 1, status: 'ok', tag: 'UPDATE 1', rowCount: 1, rowsOmitted: 0, durationMs: 4.2 });
  clock.advance(40);
  await s.close('client terminated the session (Terminate)');
}

/** An operator bot in an SSH shell: terminal output with real pacing, one masked card number. */
export async function sshSession(rec: SessionRecorder, clock: DemoClock): Promise<void> {
  const identity = { subject: 'deploy-bot', issuer: 'ssh-ca:acme-ops', method: 'ssh-cert', groups: ['ops-bots'], tokenId: 'cert-serial-4402' };
  const s = rec.start({ protocol: 'ssh', identity, target: { name: 'batch-host-1', address: '10.30.0.5:22', user: 'batch', credentialRef: 'file:/etc/vigil/secrets/batch-host-1.key' }, client: { address: '10.20.0.40:60122' } });
  s.record({ type: 'session.open', protocol: 'ssh', client: { address: '10.20.0.40:60122' }, pty: { term: 'xterm-256color', cols: 100, rows: 30 } });
  s.record({ type: 'identity.verified', ...identity });
  const out = (ms: number, text: string) => {
    clock.advance(ms);
    s.record({ type: 'output', stream: 'pty', data: utf8(text) });
  };
  out(30, 'Linux batch-host-1 6.1.0-28-amd64 x86_64\r\n\r\nbatch@batch-host-1:~$ ');
  const command = (id: number, text: string) => {
    clock.advance(400 + text.length * 60);
    s.record({ type: 'command', id, kind: 'shell', text, classification: [{ class: 'shell', command: text.split(' ')[0]!, tags: [], tables: [] }] });
    s.record({ type: 'decision', command: id, decision: 'allow', rule: 'ops-shell' });
    out(5, text + '\r\n');
  };
  command(1, 'ls -l /srv/settlement');
  out(20, 'total 12\r\n-rw-r----- 1 batch batch 2210 Nov 29 02:00 \x1b[0;32msettle-2026-11-28.csv\x1b[0m\r\n-rw-r----- 1 batch batch 1980 Nov 29 02:00 \x1b[0;32msettle-2026-11-29.csv\x1b[0m\r\nbatch@batch-host-1:~$ ');
  command(2, 'head -3 /srv/settlement/settle-2026-11-29.csv');
  out(15, 'txn_id,card,amount,currency\r\n');
  out(2, 'T-99120,401288******1881,129.90,EUR\r\nT-99121,601111******1117,18.00,EUR\r\nbatch@batch-host-1:~$ ');
  s.record({ type: 'masking', command: 2, count: 2, kinds: { pan: 2, redacted: 0 } });
  command(3, 'sudo systemctl restart settlement');
  s.record({ type: 'decision', command: 3, decision: 'block', rule: 'no-sudo', reason: 'privilege escalation is not allowed for bots' });
  out(3, 'vigil: blocked by policy "no-sudo": privilege escalation is not allowed for bots\r\nbatch@batch-host-1:~$ ');
  command(4, 'exit');
  out(10, 'logout\r\n');
  await s.close('client closed the channel (exit status 0)');
}

/** A session whose appliance dies mid-way: left open, then sealed as interrupted at the next start. */
export async function interruptedSession(rec: SessionRecorder, clock: DemoClock): Promise<void> {
  const identity = { ...ciBot, subject: 'repo:acme/etl:ref:refs/heads/main', groups: ['ci-readonly'], tokenId: 'a1b2c3d4-jti-0009' };
  const s = rec.start(pgContext(identity));
  s.record({ type: 'session.open', protocol: 'postgres', client: { address: '10.20.0.16:49002' } });
  s.record({ type: 'identity.verified', ...identity });
  clock.advance(20);
  s.record({ type: 'command', id: 1, kind: 'sql', text: 'SELECT id, amount FROM settlements WHERE day = $1', params: ['2026-11-28'], classification: [{ class: 'read', command: 'SELECT', tags: [], tables: ['public.settlements'] }] });
  s.record({ type: 'decision', command: 1, decision: 'allow', rule: 'ci-readonly-select' });
  await s.sync();
  await rec.anchorAll();
  clock.advance(5);
  s.record({ type: 'result', command: 1, status: 'ok', tag: 'SELECT 2', columns: ['id', 'amount'], rows: [['5001', '129.90'], ['5002', '18.00']], rowCount: 2, rowsOmitted: 0, durationMs: 1.9 });
  await s.sync();
  s.abandon(); // the appliance "crashes" here: no trailer, no end entry
}
