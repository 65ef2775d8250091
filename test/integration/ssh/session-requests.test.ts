/**
 * Session channel requests through the SSH gateway against a real sshd (which accepts LC_* and VIGIL_TEST_*):
 * `ssh.shell.allow: false` refuses an interactive shell with a clear message (exec still works), the `env`
 * allow-list lets only the listed variables reach the host, and a `signal` reaches the running program.
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { failures } from '../../helpers/evidence.ts';
import { runSsh, startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';
import { SSH_USER } from '../../helpers/sshd.ts';
import { join } from 'node:path';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    classes: { exec: allow, default: block }
    ssh: { env: ['LC_*', 'VIGIL_TEST_OK'] }
  - name: no-shell
    match: { subjects: [deploy-bot] }
    targets: [web-noshell]
    classes: { exec: allow, default: block }
    ssh: { shell: { allow: false } }
`;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
type Run = { code: number; stdout: string; stderr: string };
const r: Record<string, Run> = {};
let signalled: { code: number | null; signal: string | undefined; ms: number } | undefined;

/** A signal sent with ssh2's client (OpenSSH's `ssh` has no way to send one). */
function execAndSignal(command: string, signal: string): Promise<{ code: number | null; signal: string | undefined; ms: number }> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    const started = Date.now();
    c.on('ready', () =>
      c.exec(command, (err, ch) => {
        if (err) return reject(err);
        let code: number | null = null;
        let sig: string | undefined;
        ch.on('exit', (cd: number | null, s?: string) => {
          code = cd;
          sig = s;
        });
        ch.on('data', () => undefined);
        ch.stderr.on('data', () => undefined);
        ch.on('close', () => {
          c.end();
          resolve({ code, signal: sig, ms: Date.now() - started });
        });
        setTimeout(() => ch.signal(signal), 700);
      }),
    );
    c.on('error', reject);
    c.connect({ host: '127.0.0.1', port: f.port, username: 'web', privateKey: readFileSync(f.botKey), hostVerifier: () => true, readyTimeout: 10_000 });
  });
}

beforeAll(async () => {
  f = await startSshGatewayFixture({
    policies: POLICIES,
    extraTargets: `  - name: web-noshell
    protocol: ssh
    host: 127.0.0.1
    port: SSHD_PORT
    user: ${SSH_USER}
    credential: { file: SSHD_KEY }
    hostKeys: ['HOSTKEY']
`,
    beforeStart: (_dir, sshd) => ({ HOSTKEY: sshd.hostKey }),
  });
  const kh = join(f.dir, 'known_hosts');
  const env = { LC_VIGIL_LANG: 'allowed-lc', VIGIL_TEST_OK: 'allowed-ok', VIGIL_TEST_NO: 'refused-value' };
  const send = ['-o', 'SendEnv=LC_VIGIL_LANG VIGIL_TEST_OK VIGIL_TEST_NO'];
  r['env'] = await runSsh(f.port, kh, f.botKey, 'web', 'echo "lc=$LC_VIGIL_LANG ok=$VIGIL_TEST_OK no=$VIGIL_TEST_NO"', '', send, env);
  r['noShell'] = await runSsh(f.port, kh, f.botKey, 'web-noshell', '', 'echo reached-the-shell\nexit\n', ['-tt']);
  r['noShellExec'] = await runSsh(f.port, kh, f.botKey, 'web-noshell', 'echo exec-still-works');
  signalled = await execAndSignal('sleep 30; echo not-signalled', 'TERM');
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const events = (): EvidenceEvent[] => [...evidence.sessions.values()].flat();

describe('session channel requests', () => {
  it('env: only the variables policy lists reach the host; the others are refused and recorded', () => {
    expect(r['env']!.code, r['env']!.stderr).toBe(0);
    expect(r['env']!.stdout.trim()).toBe('lc=allowed-lc ok=allowed-ok no=');
    const refused = events().filter((e) => e.type === 'notice' && e['kind'] === 'request-refused').map((e) => String(e['request']));
    expect(refused).toContain('the environment variable VIGIL_TEST_NO');
    expect(JSON.stringify(events().filter((e) => e.type === 'notice'))).not.toContain('refused-value');
  });

  it('ssh.shell.allow: false refuses an interactive shell with a message that says what to do; exec still works', () => {
    expect(r['noShell']!.code).not.toBe(0);
    expect(r['noShell']!.stdout + r['noShell']!.stderr).toContain('interactive shells are not allowed by policy (ssh.shell.allow: false)');
    expect(r['noShell']!.stdout).not.toContain('reached-the-shell');
    expect(events().some((e) => e.type === 'notice' && e['kind'] === 'request-refused' && e['request'] === 'an interactive shell')).toBe(true);
    expect(r['noShellExec']!.stdout.trim()).toBe('exec-still-works');
  });

  it('a signal reaches the running program: it ends by that signal, recorded', () => {
    expect(signalled!.signal).toMatch(/^(SIG)?TERM$/); // ssh2's client names it SIGTERM; the wire says TERM
    expect(signalled!.ms).toBeLessThan(10_000);
    expect(events().some((e) => e.type === 'notice' && e['kind'] === 'signal' && e['signal'] === 'TERM')).toBe(true);
    const close = events().find((e) => e.type === 'channel.close' && e['exitSignal'] === 'TERM');
    expect(close).toBeDefined();
  });

  it('the evidence verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });
});
