import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEd25519 } from '../../../../appliance/protocols/ssh/openssh-key.ts';
import { createHostKey, hostKeyFingerprint } from '../../../../appliance/protocols/ssh/keys.ts';

function parsed(text: string) {
  const k = ssh2.utils.parseKey(Buffer.from(text));
  return Array.isArray(k) ? k[0] : k;
}

function publicKeyBytes(line: string): Buffer {
  const blob = Buffer.from(line.split(' ')[1] ?? '', 'base64');
  return blob.subarray(4 + 11 + 4);
}

describe('Ed25519 keys in OpenSSH files', () => {
  it('writes files ssh2 reads back, including keys whose public half starts with a zero byte', () => {
    let leadingZero = 0;
    // Until a few keys have the leading zero byte ssh2's own generator gets wrong (~1 in 256; the cap is never reached).
    for (let i = 0; (i < 500 || leadingZero < 2) && i < 50_000; i++) {
      const pair = generateEd25519('t');
      const key = parsed(pair.private);
      expect(key instanceof Error ? key.message : key?.type).toBe('ssh-ed25519');
      if (key instanceof Error || !key) continue;
      expect(key.isPrivateKey()).toBe(true);
      expect(key.getPublicSSH().toString('base64')).toBe(pair.public.split(' ')[1]);
      if (publicKeyBytes(pair.public)[0] === 0) leadingZero++;
    }
    expect(leadingZero).toBeGreaterThanOrEqual(2);
  });

  it('is read by the real ssh-keygen, which derives the same public key and signs with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-key-'));
    for (let i = 0; i < 5; i++) {
      const pair = generateEd25519(`k${i}`);
      const path = join(dir, `k${i}`);
      writeFileSync(path, pair.private);
      chmodSync(path, 0o600);
      const r = spawnSync('ssh-keygen', ['-y', '-f', path], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split(' ').slice(0, 2).join(' ')).toBe(pair.public.split(' ').slice(0, 2).join(' '));
      writeFileSync(join(dir, 'msg'), 'hello');
      const s = spawnSync('ssh-keygen', ['-Y', 'sign', '-n', 'file', '-f', path, join(dir, 'msg')], { encoding: 'utf8' });
      expect(s.status, s.stderr).toBe(0);
    }
  });

  it('createHostKey writes a 0600 key and a .pub line whose fingerprint is the one it returns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-hostkey-'));
    const path = join(dir, 'ssh_host_ed25519_key');
    const fp = createHostKey(path);
    const r = spawnSync('ssh-keygen', ['-l', '-f', `${path}.pub`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split(' ')[1]).toBe(fp);
    expect(hostKeyFingerprint(readFileSync(path))).toBe(fp);
  });
});
