/**
 * An SFTP operation held for approval holds back only the requests on what it touches (sftp-order.ts): on one
 * SFTP session, while an OPEN of a held file waits, a STAT and a whole download of another file complete, and
 * a REMOVE of a sibling file runs; a REMOVE of the held file itself waits until the OPEN is decided. The
 * evidence records the hold and the approval.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { failures } from '../../helpers/evidence.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { rawSftp } from '../../helpers/sftp-client.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    rules:
      - name: held-needs-approval
        when: { protocols: [ssh], objects: ['*/held/*'], commands: [open] }
        action: require-approval
        approvers: { groups: [ops] }
    classes: { read: allow, write: allow, default: block }
`;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
/** What happened, in order, while the OPEN was held. */
const log: string[] = [];
let pendingDuring = 0;
let content = '';

beforeAll(async () => {
  f = await startSshGatewayFixture({ policies: POLICIES });
  const s = f.sshd.scratch;
  mkdirSync(join(s, 'held'));
  chmodSync(join(s, 'held'), 0o777); // the target's user removes files in it
  writeFileSync(join(s, 'held', 'secret.txt'), 'held content');
  writeFileSync(join(s, 'held', 'sibling.txt'), 'sibling');
  writeFileSync(join(s, 'other.bin'), Buffer.alloc(300_000, 'o'));
  const c = await rawSftp(f.port, f.botKey);
  const held = c.open(`${s}/held/secret.txt`, 'r').then((h) => (log.push('held open answered'), h));
  let req;
  for (let i = 0; i < 500 && !req; i++) {
    req = f.gateway.localApprovals.list('pending')[0];
    if (!req) await new Promise((r) => setTimeout(r, 20));
  }
  // The REMOVE of the held file is sent now; it must wait for the OPEN.
  const removeHeld = c.remove(`${s}/held/secret.txt`).then(() => log.push('remove of the held file answered'));
  // Bounded: held back behind the OPEN, the stat would wait for an approval that never comes.
  await Promise.race([c.stat(`${s}/other.bin`).then(() => log.push('stat answered')), new Promise((_, no) => setTimeout(() => no(new Error('the stat was held back behind the held OPEN')), 15_000))]);
  const h = await c.open(`${s}/other.bin`, 'r');
  let got = 0;
  for (let off = 0; ; off += 30_000) {
    const r = await c.read(h, off, 30_000);
    if (!('data' in r) || r.data.length === 0) break;
    got += r.data.length;
  }
  await c.close(h);
  log.push(`download answered ${got}`);
  await c.remove(`${s}/held/sibling.txt`).then(() => log.push('remove of the sibling answered'));
  pendingDuring = f.gateway.localApprovals.list('pending').length;
  log.push('approving');
  f.gateway.localApprovals.decide(req!.id, { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] }, 'approve', null, '127.0.0.1');
  const hh = await held;
  await removeHeld;
  // Read through the handle opened before the remove (the file's data lives on while it is open).
  const r = await c.read(hh, 0, 100);
  content = 'data' in r ? r.data.toString() : '';
  await c.close(hh);
  c.end();
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const events = (): EvidenceEvent[] => [...evidence.sessions.values()].flat();

describe('a held SFTP operation', () => {
  it('does not hold back requests on other paths: a stat, a whole download and a sibling remove complete while it waits', () => {
    expect(pendingDuring).toBe(1);
    expect(log.slice(0, 4)).toEqual(['stat answered', 'download answered 300000', 'remove of the sibling answered', 'approving']);
    expect(existsSync(join(f.sshd.scratch, 'held', 'sibling.txt'))).toBe(false);
  });

  it('holds back a request on the same path until it is decided, then runs both in order', () => {
    expect(log.slice(4)).toEqual(['held open answered', 'remove of the held file answered']);
    expect(content).toBe('held content');
    expect(existsSync(join(f.sshd.scratch, 'held', 'secret.txt'))).toBe(false);
  });

  it('records the hold, the approval, and the operations in the order the target ran them', () => {
    const s = [...evidence.sessions.values()].find((evs) => evs.some((e) => e.type === 'command' && String(e['text']).endsWith('/held/secret.txt')))!;
    const open = s.find((e) => e.type === 'command' && e['text'] === `get ${f.sshd.scratch}/held/secret.txt`)!;
    expect(s.filter((e) => e.type === 'decision' && e['command'] === open['id']).map((e) => e['decision'])).toEqual(['hold', 'approved']);
    const rm = s.find((e) => e.type === 'command' && e['text'] === `rm ${f.sshd.scratch}/held/secret.txt`)!;
    const approved = s.find((e) => e.type === 'decision' && e['command'] === open['id'] && e['decision'] === 'approved')!;
    expect(rm['seq'] as number).toBeGreaterThan(approved['seq'] as number);
    const sibling = s.find((e) => e.type === 'command' && e['text'] === `rm ${f.sshd.scratch}/held/sibling.txt`)!;
    expect(sibling['seq'] as number).toBeLessThan(approved['seq'] as number);
    expect(events().find((e) => e.type === 'transfer' && String(e['path']).endsWith('/other.bin'))).toMatchObject({ outcome: 'complete', bytes: 300_000 });
  });

  it('the evidence verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });
});
