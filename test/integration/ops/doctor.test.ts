/**
 * `vigil doctor` against real components: a real gateway in front of a real PostgreSQL 15 (TLS verified
 * against its CA), a real sshd (pinned host key), the real kube-apiserver (certificate verified against the
 * cluster CA), an unreachable target, an SSH target pinning the wrong host key, a cluster with the wrong CA; then a broken file mode, a wrong trust file, a bad config, durability: write. Each must turn
 * its check to FAIL with a fix, and the healthy parts must stay PASS. ≈ 15 s.
 */
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../appliance/demo/free-port.ts';
import type { DoctorReport } from '../../../appliance/doctor/run-doctor.ts';
import { runDoctor } from '../../../appliance/doctor/run-doctor.ts';
import { initAppliance } from '../../../appliance/init.ts';
import { createAuditorKey } from '../../../shared/evidence/auditor-key.ts';
import { vigil } from '../../helpers/cli.ts';
import { tempDir } from '../../helpers/evidence.ts';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { startKube, type KubeServer } from '../../helpers/kube.ts';
import { sshKeygen, startSshd, SSH_USER, type SshdServer } from '../../helpers/sshd.ts';

let f: GatewayFixture;
let sshd: SshdServer;
let kube: KubeServer;
let deadPort: number;
let otherHostKey: string;

const of = (r: DoctorReport, check: string, subject?: string) => r.results.filter((x) => x.check === check && (subject === undefined || x.subject === subject));
const statuses = (r: DoctorReport, check: string, subject?: string) => of(r, check, subject).map((x) => x.status);

beforeAll(async () => {
  sshd = await startSshd();
  kube = await startKube();
  deadPort = await freePort(0);
  const keyDir = tempDir('vigil-doctor-keys-');
  otherHostKey = sshKeygen(join(keyDir, 'other'));
  f = await startGatewayFixture({
    pgTls: true,
    extraTargets: `  - name: payments-verified
    protocol: postgres
    host: 127.0.0.1
    port: PGPORT
    database: payments
    user: svc_reporting
    credential: { file: secrets/payments.password }
    tls: { mode: verify-full, ca: PGCA }
  - name: gone
    protocol: postgres
    host: 127.0.0.1
    port: ${deadPort}
    database: payments
    user: svc_reporting
    connectTimeoutMs: 1000
  - name: web
    protocol: ssh
    host: 127.0.0.1
    port: ${sshd.port}
    user: ${SSH_USER}
    credential: { file: ${sshd.userKeyPath} }
    hostKeys: ['${sshd.hostKey}']
  - name: web-wrong-key
    protocol: ssh
    host: 127.0.0.1
    port: ${sshd.port}
    user: ${SSH_USER}
    credential: { file: ${sshd.userKeyPath} }
    hostKeys: ['${otherHostKey.trim()}']
  - name: cluster
    protocol: kubernetes
    server: ${kube.url}
    ca: ${kube.caFile}
    credential: { clientCertificate: { cert: ${kube.adminCertFile}, key: ${kube.adminKeyFile} } }
  - name: cluster-wrong-ca
    protocol: kubernetes
    server: ${kube.url}
    ca: PGCA
    credential: { clientCertificate: { cert: ${kube.adminCertFile}, key: ${kube.adminKeyFile} } }
`,
  });
}, 120_000);

afterAll(async () => {
  await f?.stop();
  await sshd?.stop();
  await kube?.stop();
});

describe('vigil doctor', () => {
  it('passes what is healthy and fails what is not, beside the running gateway', async () => {
    const r = await runDoctor({ configPath: f.configPath });
    expect(statuses(r, 'config')).toEqual(['pass']);
    expect(statuses(r, 'file-modes')).toEqual(['pass']);
    expect(statuses(r, 'signing-key')).toEqual(['pass']);
    expect(statuses(r, 'auditor-keys')).toEqual(['pass']);
    expect(statuses(r, 'trust-file')).toEqual(['pass']);
    expect(statuses(r, 'disk-space')).toEqual(['pass']);
    expect(statuses(r, 'jwks')).toEqual(['pass', 'pass']);
    // Targets: real PostgreSQL with TLS (require, and verify-full against its CA), real sshd with its pinned key.
    expect(of(r, 'targets', 'payments')[0]).toMatchObject({ status: 'pass', detail: expect.stringMatching(/TLSv1\.[23] \(tls.mode require/) });
    expect(of(r, 'targets', 'payments-verified')[0]).toMatchObject({ status: 'pass', detail: expect.stringMatching(/certificate verified against tls\/target-ca\.crt/) });
    expect(of(r, 'targets', 'web')[0]).toMatchObject({ status: 'pass', detail: expect.stringMatching(/pinned host key/) });
    expect(of(r, 'targets', 'cluster')[0]).toMatchObject({ status: 'pass', detail: expect.stringMatching(/certificate verified against .*; GET \/version answered HTTP \d+/) });
    expect(of(r, 'targets', 'cluster-wrong-ca')[0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/certificate|self.signed|verify/i) });
    expect(of(r, 'targets', 'gone')[0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/ECONNREFUSED/), fix: expect.any(String) });
    expect(of(r, 'targets', 'web-wrong-key')[0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/presents host key SHA256:\S+, which hostKeys does not pin/) });
    // The clock: this container has no timedated and no chrony, so it must say unknown — never pass.
    const clock = of(r, 'clock')[0]!;
    const timedated = await import('node:child_process').then((cp) => cp.spawnSync('timedatectl', ['show', '-p', 'NTPSynchronized']));
    if (timedated.status !== 0) expect(clock.status).toBe('unknown');
    expect(r.ok).toBe(false); // the three broken targets
  });

  it('heartbeats: two of one run are compared (wall vs monotonic); a stepped clock fails', async () => {
    const log = f.gateway.appliance.log;
    const base = Math.round(performance.now());
    log.append('heartbeat', { liveSessions: 0, pid: 4242, uptimeMs: base });
    log.append('heartbeat', { liveSessions: 0, pid: 4242, uptimeMs: base + 10 });
    const ok = await runDoctor({ configPath: f.configPath, checks: [(await import('../../../appliance/doctor/checks/heartbeats.ts')).heartbeatsCheck] });
    expect(ok.results[0]).toMatchObject({ status: 'pass' });
    // The monotonic clock says 10 s passed, the wall clock (the log's times, milliseconds apart) says ~0: stepped.
    log.append('heartbeat', { liveSessions: 0, pid: 4242, uptimeMs: base + 10_020 });
    const bad = await runDoctor({ configPath: f.configPath, checks: [(await import('../../../appliance/doctor/checks/heartbeats.ts')).heartbeatsCheck] });
    expect(bad.results[0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/wall clock moved -\d+\.\d+ s against the monotonic clock/) });
  });

  it('a secret left readable by others fails file-modes with the chmod to run', async () => {
    const secret = join(f.dir, 'appliance', 'secrets', 'payments.password');
    chmodSync(secret, 0o644);
    try {
      const r = await runDoctor({ configPath: f.configPath });
      expect(of(r, 'file-modes')).toEqual([expect.objectContaining({ status: 'fail', subject: secret, detail: expect.stringMatching(/mode 0644 lets group\/others in/), fix: `chmod 600 ${secret}` })]);
    } finally {
      chmodSync(secret, 0o600);
    }
  });

  it("a trust file of another appliance fails trust-file; an auditor secret key on the appliance fails auditor-keys", async () => {
    const dir = tempDir('vigil-doctor-other-');
    const key = createAuditorKey({ label: 'other' });
    writeFileSync(join(dir, 'a.pub'), key.publicFile);
    const other = initAppliance({ dir: join(dir, 'app'), auditors: [join(dir, 'a.pub')] });
    const r = await runDoctor({ configPath: f.configPath, trustPath: other.trustPath });
    expect(of(r, 'trust-file')[0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/names appliance .* this is .*does not list the current signing key/s) });
    const stray = join(f.dir, 'appliance', 'keys', 'auditor.key');
    copyFileSync(f.auditorKeyPath, stray);
    chmodSync(stray, 0o600);
    try {
      const r2 = await runDoctor({ configPath: f.configPath });
      expect(of(r2, 'auditor-keys').find((x) => x.subject === stray)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/auditor SECRET key/) });
    } finally {
      (await import('node:fs')).unlinkSync(stray);
    }
  });

  it('the CLI: exit 1 and --json when something fails; a broken config fails config and leaves the rest unknown', async () => {
    const cli = vigil(['doctor', '--config', f.configPath, '--json']);
    expect(cli.code).toBe(1);
    const j = JSON.parse(cli.stdout) as DoctorReport;
    expect(j.ok).toBe(false);
    // The three broken targets, and the stepped clock the heartbeat test recorded.
    expect(j.results.filter((x) => x.status === 'fail').map((x) => `${x.check}/${x.subject ?? ''}`).sort()).toEqual(['heartbeats/', 'targets/cluster-wrong-ca', 'targets/gone', 'targets/web-wrong-key']);
    const text = vigil(['doctor', '--config', f.configPath]);
    expect(text.stdout).toMatch(/^FAIL +targets +gone: .*\n +fix: /m);
    expect(text.stdout).toMatch(/passed, 4 failed, \d+ unknown \(not checked\) — NOT OK/);
    const bad = join(f.dir, 'broken.yaml');
    writeFileSync(bad, readFileSync(f.configPath, 'utf8').replace('durability: fsync', 'durability: sometimes'));
    const r = await runDoctor({ configPath: bad });
    expect(of(r, 'config')[0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/broken\.yaml:\d+: evidence\.durability/) });
    expect(statuses(r, 'signing-key')).toEqual(['unknown']);
    expect(statuses(r, 'targets')).toEqual(['unknown']);
    const write = join(f.dir, 'appliance', 'write.yaml');
    writeFileSync(write, readFileSync(f.configPath, 'utf8').replace('durability: fsync', 'durability: write'));
    const w = await runDoctor({ configPath: write, checks: [(await import('../../../appliance/doctor/checks/fsync.ts')).fsyncCheck] });
    expect(w.results[0]).toMatchObject({ status: 'fail', subject: 'durability' });
    expect(w.results.at(-1)!.detail).toMatch(/fdatasync of 4 KiB: median [\d.]+ ms/);
  }, 60_000);
});
