/**
 * `rsync -e ssh` through the gateway: rsync runs `rsync --server …` on the target as an exec, governed by
 * command rules and recorded like any exec (no `transfer` events: that would need the rsync protocol).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { failures } from '../../helpers/evidence.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';
import { rsync, type Run } from './transfer-clients.ts';

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let up: Run;
let blocked: Run;
const data = randomBytes(50_000);

beforeAll(async () => {
  f = await startSshGatewayFixture({
    policies: `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    rules:
      - { name: no-rsync-to-etc, when: { protocols: [ssh], commands: [rsync], attributes: { args: ['*/blocked*'] } }, action: block }
    classes: { exec: allow, default: block }
`,
  });
  writeFileSync(join(f.dir, 'data.bin'), data);
  up = await rsync(f, [join(f.dir, 'data.bin'), `web@127.0.0.1:${f.sshd.scratch}/rsynced.bin`]);
  blocked = await rsync(f, [join(f.dir, 'data.bin'), `web@127.0.0.1:${f.sshd.scratch}/blocked.bin`]);
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

it('uploads with rsync -e ssh, byte for byte', () => {
  expect(up.code, up.stderr).toBe(0);
  expect(readFileSync(join(f.sshd.scratch, 'rsynced.bin')).equals(data)).toBe(true);
});

it('records it as an exec of rsync --server, and a command rule can refuse it', () => {
  const cmds = [...evidence.sessions.values()].flat().filter((e) => e.type === 'command' && e['kind'] === 'exec');
  expect(cmds.some((e) => String(e['text']).startsWith('rsync --server') && String(e['text']).includes('rsynced.bin'))).toBe(true);
  expect(blocked.code).not.toBe(0);
  expect(existsSync(join(f.sshd.scratch, 'blocked.bin'))).toBe(false);
  expect(failures(evidence.report)).toEqual([]);
});
