/**
 * The legacy scp protocol (`scp -O`, an exec of `scp -t`/`scp -f`) through the gateway, with the real OpenSSH
 * `scp` client and a real sshd: Vigil relays the protocol itself, so each file is decided by its path (as
 * SFTP's are), recorded as a `transfer` with its SHA-256, and a download holding a clear card number is
 * stopped before the card number reaches the client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { failures } from '../../helpers/evidence.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';
import { scp, type Run } from './transfer-clients.ts';

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
`;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let local: string;
let remote: string;
const r: Record<string, Run> = {};
const payload = randomBytes(200_000);
// A card number across the 32 KiB boundary where OpenSSH's scp splits its writes, and one as the last bytes.
const CARDS = Buffer.concat([Buffer.alloc(32_760, 'x'), Buffer.from(' 4111111111111111 paid\n')]);
const TAIL = Buffer.from(`${'y'.repeat(1000)} 5500000000000004`);

beforeAll(async () => {
  f = await startSshGatewayFixture({ policies: POLICIES });
  local = f.dir;
  remote = f.sshd.scratch;
  writeFileSync(join(local, 'payload.bin'), payload);
  mkdirSync(join(local, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(local, 'tree', 'a.txt'), 'alpha');
  writeFileSync(join(local, 'tree', 'sub', 'b.txt'), 'bravo');
  writeFileSync(join(local, 'tree', 'sub', 'secret.txt'), 'planted');
  writeFileSync(join(remote, 'cards.txt'), CARDS);
  writeFileSync(join(remote, 'tail.txt'), TAIL);
  writeFileSync(join(remote, 'secret-keep.txt'), 'stays');
  const host = `web@127.0.0.1:${remote}`;
  r['up'] = await scp(f, join(local, 'payload.bin'), `${host}/up.bin`, true);
  r['down'] = await scp(f, `${host}/up.bin`, join(local, 'down.bin'), true);
  r['upTree'] = await scp(f, join(local, 'tree'), `${host}/`, true, ['-r', '-p']);
  r['downTree'] = await scp(f, `${host}/tree`, join(local, 'tree-back'), true, ['-r']);
  r['blockedGet'] = await scp(f, `${host}/secret-keep.txt`, join(local, 'secret-keep.txt'), true);
  r['cards'] = await scp(f, `${host}/cards.txt`, join(local, 'cards.txt'), true);
  r['tail'] = await scp(f, `${host}/tail.txt`, join(local, 'tail.txt'), true);
  r['relative'] = await scp(f, join(local, 'payload.bin'), 'web@127.0.0.1:rel.bin', true);
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 180_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const events = (): EvidenceEvent[] => [...evidence.sessions.values()].flat();
const transfers = (path: string) => events().filter((e) => e.type === 'transfer' && e['path'] === path);
const command = (text: string) => events().find((e) => e.type === 'command' && e['text'] === text);
/** The decision on the command with this text, in the session that holds it (command ids count per session). */
function decisionOf(text: string): EvidenceEvent | undefined {
  for (const evs of evidence.sessions.values()) {
    const cmd = evs.find((e) => e.type === 'command' && e['text'] === text);
    if (cmd) return evs.find((e) => e.type === 'decision' && e['command'] === cmd['id']);
  }
  return undefined;
}

describe('scp -O (the legacy scp protocol) through the gateway', () => {
  it('uploads and downloads a file byte for byte', () => {
    expect(r['up']!.code, r['up']!.stderr).toBe(0);
    expect(r['down']!.code, r['down']!.stderr).toBe(0);
    expect(readFileSync(join(remote, 'up.bin')).equals(payload)).toBe(true);
    expect(readFileSync(join(local, 'down.bin')).equals(payload)).toBe(true);
  });

  it('records each file as an scp command and a transfer with its SHA-256', () => {
    const put = command(`put ${remote}/up.bin`);
    expect(put).toMatchObject({ kind: 'scp' });
    expect(decisionOf(`put ${remote}/up.bin`)).toMatchObject({ decision: 'allow' });
    expect(command(`get ${remote}/up.bin`)).toMatchObject({ kind: 'scp' });
    expect(transfers(`${remote}/up.bin`).map((e) => [e['direction'], e['bytes'], e['sha256'], e['outcome']])).toEqual([
      ['upload', payload.length, sha(payload), 'complete'],
      ['download', payload.length, sha(payload), 'complete'],
    ]);
    expect(events().some((e) => e.type === 'notice' && e['kind'] === 'scp-protocol' && e['mode'] === 'upload')).toBe(true);
  });

  it('does not record the file bytes themselves', () => {
    const marker = payload.subarray(1000, 1032);
    const outputs = events().filter((e) => (e.type === 'output' || e.type === 'input') && e['data'] instanceof Uint8Array);
    expect(outputs.some((e) => Buffer.from(e['data'] as Uint8Array).includes(marker))).toBe(false);
  });

  it('a recursive upload decides every file and directory: the blocked file is skipped, the rest arrive', () => {
    expect(r['upTree']!.code).not.toBe(0);
    expect(r['upTree']!.stderr).toContain('blocked by policy (deploy/no-secrets)');
    expect(readFileSync(join(remote, 'tree', 'a.txt'), 'utf8')).toBe('alpha');
    expect(readFileSync(join(remote, 'tree', 'sub', 'b.txt'), 'utf8')).toBe('bravo');
    expect(existsSync(join(remote, 'tree', 'sub', 'secret.txt'))).toBe(false);
    expect(command(`mkdir ${remote}/tree/sub`)).toMatchObject({ kind: 'scp' });
    expect(decisionOf(`put ${remote}/tree/sub/secret.txt`)).toMatchObject({ decision: 'block', rule: 'deploy/no-secrets' });
    expect(transfers(`${remote}/tree/sub/secret.txt`)).toEqual([]);
    // -p: the times the client sent reached the target.
    expect(statSync(join(remote, 'tree', 'a.txt')).mtimeMs).toBeCloseTo(statSync(join(local, 'tree', 'a.txt')).mtimeMs, -4);
  });

  it('a recursive download decides each file below the directory', () => {
    expect(r['downTree']!.code, r['downTree']!.stderr).toBe(0);
    expect(readFileSync(join(local, 'tree-back', 'sub', 'b.txt'), 'utf8')).toBe('bravo');
    expect(command(`ls ${remote}/tree`)).toMatchObject({ kind: 'scp' });
    expect(transfers(`${remote}/tree/sub/b.txt`).map((e) => e['direction'])).toContain('download');
  });

  it('a blocked download: nothing reaches the client, recorded as a block', () => {
    expect(r['blockedGet']!.code).not.toBe(0);
    expect(r['blockedGet']!.stderr).toContain('secrets stay on the host');
    expect(existsSync(join(local, 'secret-keep.txt'))).toBe(false);
    expect(decisionOf(`get ${remote}/secret-keep.txt`)).toMatchObject({ decision: 'block' });
  });

  it('a download holding a clear card number stops before the card number: recorded blocked', () => {
    for (const [name, key] of [['cards.txt', 'cards'], ['tail.txt', 'tail']] as const) {
      expect(r[key]!.code).not.toBe(0);
      expect(r[key]!.stderr).toContain('clear card number');
      const got = existsSync(join(local, name)) ? readFileSync(join(local, name), 'latin1') : '';
      expect(got).not.toMatch(/4111|5500000000/);
      expect(transfers(`${remote}/${name}`)).toMatchObject([{ direction: 'download', outcome: 'blocked', sha256: null }]);
    }
  });

  it('a relative path resolves against the login home directory the target reports', () => {
    expect(r['relative']!.code, r['relative']!.stderr).toBe(0);
    expect(command('put /home/vigiltest/rel.bin')).toMatchObject({ kind: 'scp' });
  });

  it('the evidence verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });
});
