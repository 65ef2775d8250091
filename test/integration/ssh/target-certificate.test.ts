/**
 * Vigil's login to the target with a per-session certificate (credential: {certificate: …}), against the
 * real sshd with TrustedUserCAKeys: no long-lived target key is used, the target's own log and the session's
 * evidence name the same certificate (key id, serial), and a target that does not trust the CA refuses
 * the login, which the client is told and the evidence records.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { failures } from '../../helpers/evidence.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { makeKey } from '../../helpers/ssh-certs.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';
import { SSH_USER } from '../../helpers/sshd.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web-cert, web-untrusted-ca]
    classes: { exec: allow, default: block }
`;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
const r: Record<string, { code: number; stdout: string; stderr: string }> = {};
let caKeyText: string;

beforeAll(async () => {
  f = await startSshGatewayFixture({
    policies: POLICIES,
    extraTargets: `  - name: web-cert
    protocol: ssh
    host: 127.0.0.1
    port: SSHD_PORT
    user: ${SSH_USER}
    credential: { certificate: { lifetimeSeconds: 60 } }
    hostKeys: ['HOST_KEY']
  - name: web-untrusted-ca
    protocol: ssh
    host: 127.0.0.1
    port: SSHD_PORT
    user: ${SSH_USER}
    credential: { certificate: { caKey: keys/other_ca } }
    hostKeys: ['HOST_KEY']
`,
    beforeStart: (dir, sshd) => {
      makeKey(join(dir, 'appliance', 'keys', 'other_ca'), 'ed25519', 'a-ca-the-target-does-not-trust');
      return { HOST_KEY: sshd.hostKey };
    },
  });
  // The target trusts the CA vigil init made, and has no authorized key for Vigil's per-session keys.
  writeFileSync(f.sshd.trustedUserCaKeys, readFileSync(join(f.dir, 'appliance', 'keys', 'ssh_target_ca_ed25519_key.pub')));
  writeFileSync(join(f.sshd.dir, 'keys', SSH_USER), '');
  caKeyText = readFileSync(join(f.dir, 'appliance', 'keys', 'ssh_target_ca_ed25519_key'), 'utf8');
  r['first'] = await f.ssh('web-cert', 'echo via-certificate; whoami');
  r['second'] = await f.ssh('web-cert', 'echo again');
  r['untrusted'] = await f.ssh('web-untrusted-ca', 'echo never');
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const sessions = (): EvidenceEvent[][] => [...evidence.sessions.values()];
const connected = () => sessions().flatMap((s) => s.filter((e) => e.type === 'notice' && e['kind'] === 'target-connected'));

describe('per-session target certificates', () => {
  it('the bundle verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });

  it('logs in to a target that trusts only the CA (no authorized key for Vigil)', () => {
    expect(r['first']).toMatchObject({ code: 0, stdout: `via-certificate\n${SSH_USER}\n` });
    expect(r['second']).toMatchObject({ code: 0, stdout: 'again\n' });
  });

  it('each session has its own certificate, recorded, and the target logged the same key id and serial', () => {
    const certs = connected().map((e) => e['certificate'] as Record<string, string>);
    expect(certs).toHaveLength(2);
    expect(connected()[0]).toMatchObject({ method: 'certificate', user: SSH_USER });
    expect(certs[0]!.serial).not.toBe(certs[1]!.serial);
    for (const c of certs) {
      expect(c['principal']).toBe(SSH_USER);
      expect(c['keyId']).toMatch(/^vigil:session=[^:]+:subject=deploy-bot$/);
      expect(Date.parse(c['validBefore']!) - Date.parse(c['validAfter']!)).toBe(120_000);
      expect(c['caFingerprint']).toMatch(/^SHA256:/);
      // sshd -e logs e.g. "Accepted publickey for vigiltest … ED25519-CERT SHA256:… ID vigil:session=… (serial N) CA ED25519 SHA256:…"
      expect(f.sshd.log()).toContain(`ID ${c['keyId']} (serial ${c['serial']}) CA ED25519 ${c['caFingerprint']}`);
    }
  });

  it('a target that does not trust the CA refuses; the client is told, the evidence records it, nothing ran', () => {
    expect(r['untrusted']!.code).not.toBe(0);
    expect(r['untrusted']!.stderr).toMatch(/could not log in to target "web-untrusted-ca"/);
    const s = sessions().find((evs) => evs.some((e) => e.type === 'error' && e['kind'] === 'startup'))!;
    expect(s.find((e) => e.type === 'error')).toMatchObject({ code: 'E_SSH_TARGET_UNAVAILABLE' });
    expect(s.some((e) => e.type === 'command' && e['decision'] === 'allow' && e['forwarded'] === true)).toBe(false);
  });

  it('no private key (CA or per-session) is in the evidence, the logs or on disk beside the appliance keys', () => {
    const all = JSON.stringify(sessions().flat(), (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    const caBody = caKeyText.split('\n')[1]!;
    for (const text of [all, f.logs()]) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(caBody);
    }
    expect(readdirSync(join(f.dir, 'appliance', 'keys')).filter((n) => /session/.test(n))).toEqual([]);
  });
});
