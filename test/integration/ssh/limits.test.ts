/** Session limits on SSH: an idle session is ended by the gateway and the archive says why; a running command is not idle. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { exportAndVerify } from '../../helpers/gateway.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';

let f: SshGatewayFixture;

beforeAll(async () => {
  f = await startSshGatewayFixture({
    policies: `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    classes: { exec: allow }
    limits: { idleSeconds: 1 }
`,
  });
}, 60_000);

afterAll(async () => {
  await f?.sshd.stop();
});

it('ends a session idle past the policy limit, but not while a command runs', async () => {
  const c = new ssh2.Client();
  c.on('error', () => undefined);
  const closed = new Promise<number>((r) => c.once('close', () => r(Date.now())));
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: f.port, username: 'web', privateKey: readFileSync(f.botKey) });
  });
  // A command running for longer than the idle limit finishes.
  const out = await new Promise<string>((resolve, reject) =>
    c.exec('sleep 1.5; echo done', (err, ch) => {
      if (err) return reject(err);
      let s = '';
      ch.on('data', (d: Buffer) => (s += String(d)));
      ch.on('close', () => resolve(s));
    }),
  );
  expect(out).toBe('done\n');
  const idleFrom = Date.now();
  const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 6_000))]);
  expect(at, 'the gateway ended the idle session').toBeGreaterThan(0);
  expect(at - idleFrom).toBeGreaterThanOrEqual(900);
  await f.gateway.stop();
  const { report, sessions } = await exportAndVerify(f);
  expect(report.ok).toBe(true);
  const evs = [...sessions.values()].flat();
  expect(evs.find((e) => e.type === 'notice' && e['kind'] === 'session-limits')).toMatchObject({ idleSeconds: 1 });
  expect(evs.find((e) => e.type === 'error' && e['kind'] === 'session')).toMatchObject({ code: 'idle' });
  expect(String(evs.find((e) => e.type === 'session.close')?.['reason'])).toMatch(/^ended by the gateway: /);
}, 30_000);
