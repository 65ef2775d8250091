/**
 * Attacks on the SFTP proxy with the real `sftp` client and a real sshd: a card number split across two
 * READ answers (sftp -B 16 reads 16 bytes at a time), a blocked path reached through `..` and through a
 * symlink. Both halves: nothing reached the client / the target is unchanged, and the verified evidence says so.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { failures } from '../helpers/evidence.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';
import { run, type Run } from '../integration/ssh/transfer-clients.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    rules:
      - name: no-vault
        when: { protocols: [ssh], objects: ['*/vault/*', '*/vault'] }
        action: block
    classes: { read: allow, write: allow, default: block }
`;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
const r: Record<string, Run> = {};

function sftp(batch: string, extra: string[] = []): Promise<Run> {
  const opts = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(f.dir, 'known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', f.botKey];
  return run('sftp', [...opts, ...extra, '-P', String(f.port), '-b', '-', 'web@127.0.0.1'], batch);
}

beforeAll(async () => {
  f = await startSshGatewayFixture({ policies: POLICIES });
  const s = f.sshd.scratch;
  // 4111111111111111 starts at byte 10: the first 16-byte READ ends after its sixth digit.
  writeFileSync(join(s, 'split.txt'), 'abcdefghi 4111111111111111 end\n');
  mkdirSync(join(s, 'vault'), { mode: 0o777 });
  writeFileSync(join(s, 'vault', 'key.txt'), 'vault secret');
  mkdirSync(join(s, 'pub'), { mode: 0o777 });
  symlinkSync(join(s, 'vault'), join(s, 'pub', 'door'));
  writeFileSync(join(f.dir, 'up.txt'), 'planted');
  r['split'] = await sftp(`get ${s}/split.txt ${f.dir}/split.txt\n`, ['-B', '16']);
  r['dotdot'] = await sftp(`put ${f.dir}/up.txt ${s}/pub/../vault/planted.txt\n`);
  r['symlink'] = await sftp(`get ${s}/pub/door/key.txt ${f.dir}/key.txt\n`);
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const events = (): EvidenceEvent[] => [...evidence.sessions.values()].flat();

describe('SFTP transfer attacks', () => {
  it('a card number split across two 16-byte READ answers: not one of its digits reaches the client, recorded blocked', () => {
    expect(r['split']!.code).not.toBe(0);
    const got = existsSync(join(f.dir, 'split.txt')) ? readFileSync(join(f.dir, 'split.txt'), 'latin1') : '';
    expect(got).not.toMatch(/4111/);
    expect(events().find((e) => e.type === 'transfer' && String(e['path']).endsWith('/split.txt'))).toMatchObject({ direction: 'download', outcome: 'blocked', sha256: null });
  });

  it('a blocked directory reached through `..`: refused, nothing planted, recorded as a block', () => {
    expect(r['dotdot']!.code).not.toBe(0);
    expect(existsSync(join(f.sshd.scratch, 'vault', 'planted.txt'))).toBe(false);
    const cmd = events().find((e) => e.type === 'command' && e['text'] === `put ${f.sshd.scratch}/vault/planted.txt`);
    expect(cmd).toBeDefined();
  });

  it('a blocked directory reached through a symlink: refused by its real path, recorded as a block', () => {
    expect(r['symlink']!.code).not.toBe(0);
    expect(existsSync(join(f.dir, 'key.txt')) ? readFileSync(join(f.dir, 'key.txt'), 'utf8') : '').not.toContain('vault secret');
    const s = [...evidence.sessions.values()].find((evs) => evs.some((e) => e.type === 'command' && String(e['text']).includes('/pub/door/key.txt')))!;
    const cmd = s.find((e) => e.type === 'command' && String(e['text']).includes('/pub/door/key.txt'))!;
    expect((cmd['classification'] as { tables: string[] }[])[0]!.tables).toContain(`${f.sshd.scratch}/vault/key.txt`);
    expect(s.find((e) => e.type === 'decision' && e['command'] === cmd['id'])).toMatchObject({ decision: 'block', rule: 'deploy/no-vault' });
  });

  it('the evidence verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });
});
