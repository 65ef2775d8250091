/**
 * An SSH session recorded through the real SSH gateway — the real `ssh` client with an OpenSSH user
 * certificate, multiplexing several exec channels over one connection (ControlMaster), Vigil logging in to a
 * real sshd with a per-session certificate — exported by the real exporter and opened in headless Chromium:
 * identity and target-certificate facts, the channel list, the terminal player per channel (masked output, a
 * blocked and an approved command marked, a UTC clock, keyboard control), and the asciicast export played by
 * the real `asciinema cat`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../../appliance/appliance.ts';
import type { EventInput } from '../../appliance/evidence/archive-writer.ts';
import { failures, newAppliance, tempDir } from '../helpers/evidence.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { makeKey, signCert } from '../helpers/ssh-certs.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';
import { SSH_USER } from '../helpers/sshd.ts';
import { exportTo } from '../helpers/viewer-evidence.ts';
import { download, openEvidence, openSession, problems, screenshot, startViewer, terminalText, type ViewerSession } from '../helpers/viewer.ts';
import { asciinema } from '../helpers/asciinema.ts';

const POLICIES = `
policies:
  - name: ci
    match: { providers: [ci-ca] }
    targets: [web-cert]
    rules:
      - name: no-touch
        when: { protocols: [ssh], commands: [touch] }
        action: block
        reason: touching files is not part of a deploy
      - name: id-needs-approval
        when: { protocols: [ssh], commands: [id] }
        action: require-approval
        approvers: { groups: [ops] }
    classes: { exec: allow, default: block }
`;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let viewer: ViewerSession;
let page: Page;
let caDir: string;
let marker: string;
let bundle: string;
const r: Record<string, { code: number; stdout: string; stderr: string }> = {};
let later: { trust: string; bundle: string; key: string };
const enc = (x: string) => new TextEncoder().encode(x);
const SHA = 'c0ffee'.padEnd(64, '0');

/**
 * What later SSH work will record (a shell with a pty and resizes, transfers, forwards; the gateway does
 * not write these yet): written by the real recorder, with real pauses so the times differ, and exported
 * by the real exporter.
 */
async function laterSshBundle(): Promise<{ trust: string; bundle: string; key: string }> {
  const a = newAppliance();
  const app = await Appliance.open(a.configPath);
  const pause = () => new Promise((res) => setTimeout(res, 120));
  try {
    const s = app.recorder.start({ protocol: 'ssh', identity: { subject: 'deploy-bot', method: 'ssh-key' }, target: { name: 'web' }, client: { address: '127.0.0.1:5000' } });
    const steps: (EventInput | 'pause')[] = [
      { type: 'session.open', protocol: 'ssh', client: { address: '127.0.0.1:5000' } },
      { type: 'identity.verified', method: 'ssh-key', provider: 'authorized-keys', issuer: 'vigil:listeners.ssh.authorizedKeys', subject: 'deploy-bot', groups: ['deployers'], claims: { keyType: 'ssh-ed25519', keyFingerprint: 'SHA256:abc' } },
      { type: 'channel.open', channel: 0, kind: 'shell', pty: { term: 'xterm-256color', cols: 60, rows: 12 } },
      'pause',
      { type: 'output', channel: 0, stream: 'pty', data: enc('$ narrow\r\n') },
      'pause',
      { type: 'resize', channel: 0, cols: 132, rows: 20 },
      'pause',
      { type: 'output', channel: 0, stream: 'pty', data: enc('$ wide\r\n') },
      'pause',
      { type: 'transfer', channel: 1, path: '/srv/release.tar.gz', direction: 'upload', bytes: 1_048_576, sha256: SHA, outcome: 'complete' },
      { type: 'transfer', path: '/etc/shadow', direction: 'download', bytes: 0, sha256: null, outcome: 'blocked', reason: 'outside the allowed paths' },
      { type: 'forward.open', channel: 2, host: '10.0.0.5', port: 5432, origin: '127.0.0.1:50000' },
      'pause',
      { type: 'forward.close', channel: 2, bytesIn: 4096, bytesOut: 512 },
      { type: 'forward.open', channel: 3, host: 'db.internal', port: 6379 },
    ];
    for (const e of steps) {
      if (e === 'pause') await pause();
      else s.record(e);
    }
    await s.close('client disconnected');
  } finally {
    await app.close();
  }
  const file = join(a.dir, 'later.vigil');
  await exportTo(a.configPath, file);
  return { trust: a.trustPath, bundle: file, key: join(a.dir, 'auditor.key') };
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ssh', args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

let validBefore = '';

beforeAll(async () => {
  caDir = tempDir('vigil-viewer-ssh-');
  const caLine = makeKey(join(caDir, 'user_ca'), 'ed25519', 'ci-user-ca');
  const botKey = join(caDir, 'bot');
  makeKey(botKey, 'ed25519', 'bot@ci');
  const cert = signCert(join(caDir, 'user_ca'), botKey, { keyId: 'bot:repo:acme/deploy', principals: [SSH_USER], serial: 4242 });
  [f, viewer] = await Promise.all([
    startSshGatewayFixture({
      policies: POLICIES,
      listenerExtra: `    userCertificateAuthorities:
      - { name: ci-ca, keys: ['${caLine}'], groups: [deployers] }
`,
      extraTargets: `  - name: web-cert
    protocol: ssh
    host: 127.0.0.1
    port: SSHD_PORT
    user: ${SSH_USER}
    credential: { certificate: { lifetimeSeconds: 60 } }
    hostKeys: ['HOST_KEY']
`,
      beforeStart: (_dir, sshd) => ({ HOST_KEY: sshd.hostKey }),
    }),
    startViewer(),
  ]);
  writeFileSync(f.sshd.trustedUserCaKeys, readFileSync(join(f.dir, 'appliance', 'keys', 'ssh_target_ca_ed25519_key.pub')));
  marker = join(f.sshd.scratch, 'blocked-marker');
  const ctl = join(caDir, 'ctl');
  const base = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(f.dir, 'known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', botKey, '-o', `CertificateFile=${cert}`, '-p', String(f.port), '-S', ctl];
  // One connection (the master), several exec channels over it: one session with channels 0, 1, 2…
  const master: ChildProcess = spawn('ssh', [...base, '-M', '-N', 'web-cert@127.0.0.1'], { stdio: 'ignore' });
  for (let i = 0; i < 500 && !existsSync(ctl); i++) await new Promise((res) => setTimeout(res, 20));
  const exec = (command: string) => run([...base, 'web-cert@127.0.0.1', command]);
  r['pan'] = await exec("echo deploying; printf 'card %s\\n' 4111111111111111; sleep 0.3; echo done");
  r['blocked'] = await exec(`touch ${marker}`);
  const held = exec('id -un');
  let req;
  for (let i = 0; i < 500 && !req; i++) {
    req = f.gateway.localApprovals.list('pending')[0];
    if (!req) await new Promise((res) => setTimeout(res, 20));
  }
  if (req) f.gateway.localApprovals.decide(req.id, { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] }, 'approve', null, '127.0.0.1');
  r['held'] = await held;
  r['stderr'] = await exec('echo "to $(whoami)" >&2; exit 3');
  spawnSync('ssh', [...base, '-O', 'exit', 'web-cert@127.0.0.1']);
  await new Promise((res) => (master.exitCode !== null ? res(null) : master.once('exit', res)));
  await f.gateway.stop();
  // A certificate the appliance's issuer minted, logged as cert-issuer.ts logs it, for the credentials table.
  const app = await Appliance.open(f.configPath);
  const second = Math.floor(Date.now() / 1000) * 1000;
  validBefore = new Date(second + 600_000).toISOString();
  try {
    app.log.append('credential.issued', {
      kind: 'ssh-user-certificate',
      provider: 'github',
      issuer: 'https://token.actions.githubusercontent.com',
      subject: 'repo:acme/deploy:ref:refs/heads/main',
      tokenId: '5f0c1d7e-4b7a-4a52-9b51-0e1f2a3b4c5d',
      tokenHash: `b2k:${'ab'.repeat(32)}`,
      keyId: 'vigil:iss=https://token.actions.githubusercontent.com:sub=repo:acme/deploy:ref:refs/heads/main:jti=5f0c1d7e-4b7a-4a52-9b51-0e1f2a3b4c5d',
      serial: '7731',
      principals: [SSH_USER],
      validAfter: new Date(second - 60_000).toISOString(),
      validBefore,
      keyFingerprint: 'SHA256:q0Xf1bRZpP3Dt6Q4mYtY1n4c2e5i6GhZ8sJk9LmNoPq',
      caFingerprint: 'SHA256:Zy8Xw7Vu6Ts5Rq4Po3Nm2Lk1Ji0Hg9Fe8Dc7Ba6Zy8X',
      address: '127.0.0.1',
    });
  } finally {
    await app.close();
  }
  evidence = await exportAndVerify(f, 'ssh.vigil');
  bundle = join(f.dir, 'ssh.vigil');
  page = await viewer.page();
  await openEvidence(page, { trust: f.trustPath, bundle, key: f.auditorKeyPath });
  later = await laterSshBundle();
}, 180_000);

afterAll(async () => {
  await viewer?.close();
  await f?.sshd.stop();
});

describe('an SSH session through the real gateway, in the viewer', () => {
  it('the clients saw what policy decided, and the bundle verifies', () => {
    expect(r['pan']).toMatchObject({ code: 0, stdout: 'deploying\ncard 411111******1111\ndone\n' });
    expect(r['blocked']!.code).toBe(1);
    expect(existsSync(marker)).toBe(false);
    expect(r['held']).toMatchObject({ code: 0, stdout: `${SSH_USER}\n` });
    expect(r['stderr']!.code).toBe(3);
    expect(failures(evidence.report)).toEqual([]);
  });
});

describe('the SSH session in the viewer', () => {
  it('verifies with every check green', async () => {
    expect(await page.getByTestId('banner').innerText()).toMatch(/intact and complete[\s\S]*1 session: 1 complete/);
  });

  it('lists the credentials the appliance issued, from the signed log (who, logins, serial, valid until)', async () => {
    const table = page.getByTestId('credentials-issued');
    await table.waitFor();
    const text = await table.innerText();
    expect(text).toMatch(/Credentials issued \(1\)/);
    expect(text).toContain('Covered by the verified checkpoint');
    expect(text).toContain('repo:acme/deploy:ref:refs/heads/main');
    expect(text).toContain('https://token.actions.githubusercontent.com (github)');
    expect(text).toMatch(/SSH user certificate\s+serial 7731/);
    expect(text).toContain(SSH_USER);
    expect(text).toContain(`${validBefore.slice(0, 10)} ${validBefore.slice(11, 19)}`);
    expect(text).not.toContain('b2k:');
    await screenshot(page, 'viewer-credentials-issued', { fullPage: true });
  });

  it('shows the client certificate (key id, serial, CA fingerprint) and the per-session target certificate', async () => {
    await openSession(page, 1);
    const id = evidence.sessions.values().next().value!.find((e) => e.type === 'identity.verified')!;
    const caFp = String((id['claims'] as Record<string, unknown>)['caFingerprint']);
    const client = await page.getByTestId('ssh-client-login').innerText();
    expect(client).toMatch(/Method\s+ssh-certificate/);
    expect(client).toMatch(/Certificate key id\s+bot:repo:acme\/deploy/);
    expect(client).toMatch(/Certificate serial\s+4242/);
    expect(client).toContain(caFp);
    const notice = [...evidence.sessions.values()][0]!.find((e) => e.type === 'notice' && e['kind'] === 'target-connected')!;
    const tc = notice['certificate'] as Record<string, string>;
    const targetLogin = await page.getByTestId('ssh-target-login').innerText();
    expect(targetLogin).toMatch(/Method\s+certificate/);
    expect(targetLogin).toMatch(new RegExp(`As user\\s+${SSH_USER}`));
    expect(targetLogin).toContain(tc['keyId']!);
    expect(targetLogin).toContain(tc['serial']!);
    expect(targetLogin).toContain(tc['caFingerprint']!);
    // …and the target's own sshd logged the same certificate.
    expect(f.sshd.log()).toContain(`ID ${tc['keyId']} (serial ${tc['serial']})`);
  });

  it('lists the channels with how each ended', async () => {
    const rows = await page.locator('[data-testid=ssh-channels] tbody tr').allInnerTexts();
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^0\s+exec\s+echo deploying[\s\S]*exit 0/);
    expect(rows[1]).toMatch(/^1\s+exec\s+touch [\s\S]*exit 1 \(blocked\)/);
    expect(rows[2]).toMatch(/^2\s+exec\s+id -un[\s\S]*exit 0/);
    expect(rows[3]).toMatch(/^3\s+exec[\s\S]*exit 3/);
    expect(await page.getByTestId('ssh-transfers').innerText()).toMatch(/No file transfer/);
    expect(await page.getByTestId('ssh-forwards').innerText()).toMatch(/No port forward/);
  });

  it('replays channel 0 with its output masked, at the default size, with a UTC clock at the playhead', async () => {
    await page.getByRole('tab', { name: 'Replay' }).click();
    await page.getByTestId('terminal-player').waitFor();
    expect(await page.getByTestId('channel-select').inputValue()).toBe('0');
    expect(await page.getByTestId('terminal-player').getAttribute('data-size')).toBe('80x24');
    const player = page.getByTestId('terminal-player');
    await player.focus();
    await page.keyboard.press('End');
    await expect.poll(() => terminalText(page)).toMatch(/deploying\s+card 411111\*{6}1111\s+done/);
    expect(await terminalText(page)).not.toContain('4111111111111111');
    const utc = await page.getByTestId('utc-clock').innerText();
    const session = [...evidence.report.sessions][0]!;
    const end = Date.parse(session.startedAt!) + Number(await player.getAttribute('data-position'));
    expect(utc).toBe(new Date(end).toISOString().replace('T', ' ').replace('Z', ' UTC'));
    // Home, then space plays from the start to the end; an arrow then steps back (clamped at 0).
    await page.keyboard.press('Home');
    expect(await player.getAttribute('data-position')).toBe('0');
    expect(await terminalText(page)).not.toContain('deploying');
    await page.keyboard.press(' ');
    await expect.poll(() => terminalText(page), { timeout: 10_000 }).toContain('done');
    // The last output comes before the end of the recording: wait for the playback to finish.
    await expect.poll(() => player.getAttribute('data-playing'), { timeout: 10_000 }).toBe('no');
    await page.keyboard.press('ArrowLeft');
    expect(Number(await player.getAttribute('data-position'))).toBe(0);
  });

  it('marks the blocked and the approved (held) command on the timeline and in the command list', async () => {
    const blocked = page.locator('.scrub [data-marker=block]');
    expect(await blocked.count()).toBe(1);
    expect(await blocked.getAttribute('aria-label')).toMatch(/Blocked: touch .*blocked-marker \(channel 1\) — touching files is not part of a deploy/);
    const held = page.locator('.scrub [data-marker=held]');
    expect(await held.count()).toBe(1);
    expect(await held.getAttribute('aria-label')).toMatch(/Approved: id -un \(channel 2\)/);
    expect(await page.locator('.scrub [data-marker=approval]').getAttribute('aria-label')).toMatch(/Approved by dana@acme.test: id -un/);
    const list = page.getByTestId('command-list');
    expect(await list.locator('li').evaluateAll((l) => l.map((x) => x.getAttribute('data-mark')))).toEqual(['allowed', 'blocked', 'approved', 'allowed']);
    expect(await list.locator('li[data-mark=approved]').innerText()).toMatch(/held → approved/);
  });

  it('follows the playhead in the command list and switches channel from it', async () => {
    const list = page.getByTestId('command-list');
    await list.locator('li[data-mark=approved] button').click();
    await expect.poll(() => page.getByTestId('channel-select').inputValue()).toBe('2');
    await expect.poll(() => list.locator('li[aria-current=step]').getAttribute('data-mark')).toBe('approved');
    expect(await page.getByTestId('current-command').innerText()).toMatch(/#3 on channel 2[\s\S]*held → approved[\s\S]*id -un[\s\S]*Rule: ci\/id-needs-approval[\s\S]*Approved by dana@acme\.test at \d\d:\d\d:\d\d\.\d{3} UTC[\s\S]*Channel ended: exit 0/);
    const player = page.getByTestId('terminal-player');
    // Before the command was received: no current command, an empty terminal.
    await player.focus();
    await page.keyboard.press('Home');
    expect(await list.locator('li[aria-current=step]').count()).toBe(0);
    await page.keyboard.press('End');
    await expect.poll(() => terminalText(page)).toContain(SSH_USER);
    expect(await terminalText(page)).not.toContain('deploying');
    expect(await list.locator('li[aria-current=step]').getAttribute('data-mark')).toBe('approved');
    await screenshot(page, 'viewer-replay-ssh', { fullPage: true });
    await page.getByTestId('channel-select').selectOption('3');
    await page.getByTestId('terminal-player').focus();
    await page.keyboard.press('End');
    await expect.poll(() => terminalText(page)).toContain(`to ${SSH_USER}`);
    await page.getByTestId('channel-select').selectOption('1');
    expect(await page.getByTestId('ssh-replay').innerText()).toMatch(/This channel recorded no output \(blocked\)/);
    await page.getByTestId('channel-select').selectOption('0');
    await page.getByTestId('terminal-player').focus();
    await page.keyboard.press('End');
    await expect.poll(() => terminalText(page)).toContain('done');
    expect(await list.locator('li[aria-current=step]').getAttribute('data-mark')).toBe('allowed');
    expect(problems(page)).toEqual([]);
  });

  it('exports channel 0 as asciicast that the real asciinema plays', async () => {
    const { name, bytes } = await download(page, () => page.getByRole('button', { name: /Save channel 0 replay/ }).click());
    expect(name).toMatch(/^session-1-[0-9a-f-]+-channel-0\.cast$/);
    const file = join(caDir, name);
    writeFileSync(file, bytes);
    const header = JSON.parse(bytes.toString('utf8').split('\n')[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({ version: 2, width: 80, height: 24 });
    const cat = asciinema(['cat', file]);
    expect(cat.status, cat.stderr).toBe(0);
    expect(cat.stdout).toBe('deploying\r\ncard 411111******1111\r\ndone\r\n');
    const play = asciinema(['play', '-s', '20', file]);
    expect(play.status, play.stderr).toBe(0);
    expect(play.stdout).toContain('card 411111******1111');
  });
});

describe('what later SSH work records (synthetic events, real recorder and exporter)', () => {
  let p: Page;
  beforeAll(async () => {
    p = await viewer.page();
    await openEvidence(p, later);
    await openSession(p, 1);
  });

  it('replays the shell at its recorded size and follows the resize at the playhead', async () => {
    await p.getByRole('tab', { name: 'Replay' }).click();
    const player = p.getByTestId('terminal-player');
    await player.waitFor();
    expect(await player.getAttribute('data-size')).toBe('60x12');
    const width = () => p.locator('[data-testid=terminal] .xterm-screen').evaluate((el) => el.getBoundingClientRect().width);
    const narrow = await width();
    await player.focus();
    await p.keyboard.press('End');
    await expect.poll(() => terminalText(p)).toMatch(/\$ narrow\s+\$ wide/);
    expect(await player.getAttribute('data-size')).toBe('132x20');
    expect(await p.getByTestId('terminal-size').innerText()).toBe('132×20');
    expect(await p.locator('[data-testid=terminal] .xterm-rows > div').count()).toBe(20);
    // The terminal itself is wider by 132/60 (xterm draws a fixed width per column).
    expect((await width()) / narrow).toBeCloseTo(132 / 60, 1);
    // Back to the start: the recorded size again, then only the first line.
    await p.keyboard.press('Home');
    expect(await player.getAttribute('data-size')).toBe('60x12');
    expect(await p.locator('[data-testid=terminal] .xterm-rows > div').count()).toBe(12);
    expect(await width()).toBeCloseTo(narrow, 0);
    expect(await terminalText(p)).not.toContain('wide');
    const session = (await p.getByTestId('session-detail').innerText()).match(/Started\s+(\S+ \S+) UTC/)![1]!;
    expect(await p.getByTestId('utc-clock').innerText()).toMatch(new RegExp(`^${session}\\.\\d{3} UTC$`));
    expect(problems(p)).toEqual([]);
  });

  it('lists the transfers (path, direction, size, SHA-256, outcome) and the forwards (host:port, bytes in/out)', async () => {
    const t = await p.locator('[data-testid=ssh-transfers] tbody tr').allInnerTexts();
    expect(t).toHaveLength(2);
    expect(t[0]).toMatch(new RegExp(`/srv/release\\.tar\\.gz\\s+upload \\(client → target\\)\\s+1\\.0 MiB\\s+${SHA}\\s+complete`));
    expect(t[1]).toMatch(/\/etc\/shadow\s+download \(target → client\)\s+0 B\s+none \(not complete\)\s+blocked: outside the allowed paths/);
    const fw = await p.locator('[data-testid=ssh-forwards] tbody tr').allInnerTexts();
    expect(fw[0]).toMatch(/^2\s+10\.0\.0\.5:5432\s+127\.0\.0\.1:50000[\s\S]*4\.0 KiB\s+512 B/);
    // Never closed: the byte counts are unknown, not 0.
    expect(fw[1]).toMatch(/^3\s+db\.internal:6379[\s\S]*not recorded\s+not recorded\s+not recorded/);
    const ch = await p.locator('[data-testid=ssh-channels] tbody tr').allInnerTexts();
    expect(ch[0]).toMatch(/^0\s+shell[\s\S]*xterm-256color 60×12[\s\S]*exit status not recorded \(still open at the end of the recording\)/);
    expect(await p.getByTestId('ssh-target-login').innerText()).toMatch(/does not say how/);
    await p.getByTestId('terminal-player').focus();
    await p.keyboard.press('End');
    await expect.poll(() => terminalText(p)).toContain('wide');
    await screenshot(p, 'viewer-ssh-transfers', { fullPage: true });
  });
});
