/**
 * File transfer through the SSH gateway with real components: the real OpenSSH `sftp -b` and `scp` (SFTP
 * mode) clients, the gateway's SFTP proxy, a real sshd's internal-sftp as the target, and the exported
 * bundle checked by the real verifier. Upload and download round trips (byte-identical, SHA-256 in the
 * evidence), path rules (blocked before the target is touched), renames and removes recorded, and a
 * download holding a clear card number refused (and allowed where policy says so).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { failures } from '../../helpers/evidence.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';
import { SSH_USER } from '../../helpers/sshd.ts';
import { scp, sftpBatch, type Run } from './transfer-clients.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    rules:
      - name: no-secrets
        when: { protocols: [ssh], objects: ['*/secret*'] }
        action: block
        reason: secrets stay on the host
    classes: { exec: allow, read: allow, write: allow, default: block }
  - name: reports
    match: { subjects: [deploy-bot] }
    targets: [web-reports]
    classes: { read: allow, default: block }
    ssh: { transfers: { clearPan: allow } }
`;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let local: string;
let remote: string;
const r: Record<string, Run> = {};
const payload = randomBytes(300_000);
const scpPayload = randomBytes(70_000);
const CARDS = Buffer.from(`${'x'.repeat(40_000)}\norder 4111111111111111 paid\n`);

beforeAll(async () => {
  f = await startSshGatewayFixture({
    policies: POLICIES,
    extraTargets: `  - name: web-reports
    protocol: ssh
    host: 127.0.0.1
    port: SSHD_PORT
    user: ${SSH_USER}
    credential: { file: SSHD_KEY }
    hostKeys: ['${''}HOSTKEY']
`,
    beforeStart: (_dir, sshd) => ({ HOSTKEY: sshd.hostKey }),
  });
  local = f.dir;
  remote = f.sshd.scratch;
  writeFileSync(join(local, 'payload.bin'), payload);
  writeFileSync(join(local, 'scp.bin'), scpPayload);
  writeFileSync(join(remote, 'cards.txt'), CARDS);
  writeFileSync(join(remote, 'secret-keep.txt'), 'do not remove');
  writeFileSync(join(remote, 'old.txt'), 'to be renamed');
  writeFileSync(join(remote, 'gone.txt'), 'to be removed');
  r['roundTrip'] = await sftpBatch(f, 'web', `put ${local}/payload.bin ${remote}/up.bin\nget ${remote}/up.bin ${local}/down.bin\n`);
  r['blockedPut'] = await sftpBatch(f, 'web', `put ${local}/payload.bin ${remote}/secret.bin\n`);
  r['blockedRm'] = await sftpBatch(f, 'web', `rm ${remote}/secret-keep.txt\n`);
  r['renameRemove'] = await sftpBatch(f, 'web', `rename ${remote}/old.txt ${remote}/new.txt\nrm ${remote}/gone.txt\nmkdir ${remote}/d\nrmdir ${remote}/d\nls ${remote}\n`);
  // The real client's SYMLINK (its two paths in OpenSSH's order), SETSTAT, and an extension Vigil does not offer.
  r['linkChmod'] = await sftpBatch(f, 'web', `ln -s ${remote}/new.txt ${remote}/link.txt\nchmod 640 ${remote}/up.bin\n-df ${remote}\n`);
  r['panBlocked'] = await sftpBatch(f, 'web', `get ${remote}/cards.txt ${local}/cards-blocked.txt\n`);
  r['panAllowed'] = await sftpBatch(f, 'web-reports', `get ${remote}/cards.txt ${local}/cards-allowed.txt\n`);
  r['scpUp'] = await scp(f, join(local, 'scp.bin'), `web@127.0.0.1:${remote}/scp-up.bin`);
  r['scpDown'] = await scp(f, `web@127.0.0.1:${remote}/scp-up.bin`, join(local, 'scp-down.bin'));
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 180_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const events = (): EvidenceEvent[] => [...evidence.sessions.values()].flat();
const transfers = (path: string) => events().filter((e) => e.type === 'transfer' && e['path'] === path);

describe('sftp and scp through the gateway', () => {
  it('uploads and downloads a file byte for byte (sftp -b)', () => {
    expect(r['roundTrip']!.code, r['roundTrip']!.stderr).toBe(0);
    expect(readFileSync(join(remote, 'up.bin')).equals(payload)).toBe(true);
    expect(readFileSync(join(local, 'down.bin')).equals(payload)).toBe(true);
  });

  it('uploads and downloads with scp (SFTP mode)', () => {
    expect(r['scpDown']!.code, r['scpDown']!.stderr).toBe(0);
    expect(readFileSync(join(remote, 'scp-up.bin')).equals(scpPayload)).toBe(true);
    expect(readFileSync(join(local, 'scp-down.bin')).equals(scpPayload)).toBe(true);
  });

  it('scp (SFTP mode) upload exits 0', () => {
    expect(r['scpUp']!.code, JSON.stringify(r['scpUp'])).toBe(0);
  });

  it('refuses an upload and a remove a path rule blocks; the target is untouched', () => {
    expect(r['blockedPut']!.code).not.toBe(0);
    expect(existsSync(join(remote, 'secret.bin'))).toBe(false);
    expect(r['blockedRm']!.code).not.toBe(0);
    expect(readFileSync(join(remote, 'secret-keep.txt'), 'utf8')).toBe('do not remove');
  });

  it('renames, removes, makes and removes a directory', () => {
    expect(r['renameRemove']!.code, r['renameRemove']!.stderr).toBe(0);
    expect(existsSync(join(remote, 'old.txt'))).toBe(false);
    expect(readFileSync(join(remote, 'new.txt'), 'utf8')).toBe('to be renamed');
    expect(existsSync(join(remote, 'gone.txt'))).toBe(false);
    expect(r['renameRemove']!.stdout).toContain('new.txt');
  });

  it('makes a symlink (link and target the right way round) and changes a mode, recorded as such', () => {
    expect(r['linkChmod']!.code, r['linkChmod']!.stderr).toBe(0);
    expect(readlinkSync(join(remote, 'link.txt'))).toBe(`${remote}/new.txt`);
    expect(statSync(join(remote, 'up.bin')).mode & 0o777).toBe(0o640);
    // df needs statvfs@openssh.com, which Vigil does not advertise: the client says so and sends nothing.
    expect(r['linkChmod']!.stderr).toMatch(/statvfs|not supported/i);
    const texts = events().filter((e) => e.type === 'command' && e['kind'] === 'sftp').map((e) => e['text']);
    expect(texts).toEqual(expect.arrayContaining([`symlink ${remote}/link.txt -> ${remote}/new.txt`, `setstat ${remote}/up.bin mode=0640`]));
  });

  it('refuses a download holding a clear card number: no clear PAN reaches the client', () => {
    expect(r['panBlocked']!.code).not.toBe(0);
    const got = existsSync(join(local, 'cards-blocked.txt')) ? readFileSync(join(local, 'cards-blocked.txt'), 'latin1') : '';
    expect(got).not.toContain('4111111111111111');
    expect(got).not.toContain('41111111');
  });

  it('lets it through where policy says clearPan: allow', () => {
    expect(r['panAllowed']!.code, r['panAllowed']!.stderr).toBe(0);
    expect(readFileSync(join(local, 'cards-allowed.txt')).equals(CARDS)).toBe(true);
  });
});

describe('the evidence', () => {
  it('verifies with the real verifier', () => {
    expect(failures(evidence.report)).toEqual([]);
    expect(evidence.report.ok).toBe(true);
  });

  it('records the upload and the download with their size and SHA-256', () => {
    const [up] = transfers(`${remote}/up.bin`).filter((e) => e['direction'] === 'upload');
    const [down] = transfers(`${remote}/up.bin`).filter((e) => e['direction'] === 'download');
    expect(up).toMatchObject({ bytes: payload.length, sha256: sha(payload), outcome: 'complete' });
    expect(down).toMatchObject({ bytes: payload.length, sha256: sha(payload), outcome: 'complete' });
    const put = events().find((e) => e.type === 'command' && e['text'] === `put ${remote}/up.bin`)!;
    expect(put).toMatchObject({ kind: 'sftp', classification: [{ class: 'write', command: 'open', tables: [`${remote}/up.bin`] }] });
    expect(up!['command']).toBe(put['id']);
  });

  it('records the scp transfers with their SHA-256', () => {
    expect(transfers(`${remote}/scp-up.bin`).map((e) => [e['direction'], e['sha256'], e['outcome']])).toEqual(
      expect.arrayContaining([
        ['upload', sha(scpPayload), 'complete'],
        ['download', sha(scpPayload), 'complete'],
      ]),
    );
  });

  it('records the blocked operations as blocks by the path rule', () => {
    for (const text of [`put ${remote}/secret.bin`, `rm ${remote}/secret-keep.txt`]) {
      const s = [...evidence.sessions.values()].find((evs) => evs.some((e) => e.type === 'command' && e['text'] === text))!;
      const cmd = s.find((e) => e.type === 'command' && e['text'] === text);
      expect(cmd, text).toBeDefined();
      expect(s.find((e) => e.type === 'decision' && e['command'] === cmd!['id'])).toMatchObject({ decision: 'block', rule: 'deploy/no-secrets' });
    }
    expect(transfers(`${remote}/secret.bin`)).toEqual([]);
  });

  it('records the rename and the remove', () => {
    const texts = events().filter((e) => e.type === 'command' && e['kind'] === 'sftp').map((e) => e['text']);
    expect(texts).toEqual(expect.arrayContaining([`rename ${remote}/old.txt ${remote}/new.txt`, `rm ${remote}/gone.txt`, `mkdir ${remote}/d`, `rmdir ${remote}/d`, `ls ${remote}`]));
  });

  it('records the card-number download as blocked, and the allowed one as complete with the exception', () => {
    const all = transfers(`${remote}/cards.txt`);
    expect(all.find((e) => e['outcome'] === 'blocked')).toMatchObject({ direction: 'download', sha256: null });
    const allowed = all.find((e) => e['outcome'] === 'complete');
    expect(allowed).toMatchObject({ direction: 'download', bytes: CARDS.length, sha256: sha(CARDS) });
    expect(allowed!['reason']).toMatch(/clearPan: allow/);
  });
});
