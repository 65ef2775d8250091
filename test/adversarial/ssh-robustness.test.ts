/**
 * Malformed and abusive SSH input against the gateway: an oversized packet, a slow-loris of half-sent
 * identification lines, and a channel flood from an authenticated client. None crashes the gateway, a real
 * `ssh` session running meanwhile carries on and finishes, and the flood's archive says what was refused.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
const AUTH_TIMEOUT_MS = 1_500;

/** A raw TCP client; resolves when the gateway closes the socket, with how long that took. */
function rawClient(send: (s: Socket) => void): Promise<{ closedAfterMs: number; got: string }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let got = '';
    const s = connect(f.port, '127.0.0.1', () => send(s));
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ closedAfterMs: Date.now() - t0, got }));
  });
}

/** An authenticated ssh2 client with the bot's key. */
async function botClient(): Promise<ssh2.Client> {
  const c = new ssh2.Client();
  c.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: f.port, username: 'web', privateKey: readFileSync(f.botKey), hostVerifier: () => true });
  });
  return c;
}

function execOn(c: ssh2.Client, command: string): Promise<{ ok: true; out: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    c.exec(command, (err, ch) => {
      if (err) return resolve({ ok: false, error: err.message });
      let out = '';
      ch.on('data', (d: Buffer) => (out += d));
      ch.stderr.on('data', () => undefined);
      ch.on('close', () => resolve({ ok: true, out }));
    });
  });
}

const results: Record<string, unknown> = {};

beforeAll(async () => {
  f = await startSshGatewayFixture({
    policies: `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    classes: { exec: allow }
`,
    listenerExtra: `    authenticationTimeoutMs: ${AUTH_TIMEOUT_MS}\n    maxSessionChannels: 4\n`,
  });
  // A real session that runs through every attack below and must finish normally.
  const bystander = f.ssh('web', 'sleep 3; echo still-alive');

  // 1. An identification line, then a binary packet claiming ~2 GiB.
  const huge = Buffer.alloc(64);
  huge.writeUInt32BE(0x7ffffff0, 0);
  results['oversized'] = await rawClient((s) => s.write(Buffer.concat([Buffer.from('SSH-2.0-evil\r\n'), huge])));

  // 2. Slow-loris: 20 connections dribbling the identification line a byte at a time, never finishing it.
  results['loris'] = await Promise.all(
    Array.from({ length: 20 }, () =>
      rawClient((s) => {
        const line = 'SSH-2.0-slow';
        let i = 0;
        const t = setInterval(() => (i < line.length && !s.destroyed ? s.write(line[i++]!) : clearInterval(t)), 200);
        s.once('close', () => clearInterval(t));
      }),
    ),
  );

  // 3. A channel flood: 200 exec channels at once on one authenticated connection.
  const flooder = await botClient();
  results['flood'] = await Promise.all(Array.from({ length: 200 }, (_, i) => execOn(flooder, `echo flood-${i}`)));
  results['afterFlood'] = await execOn(flooder, 'echo after-flood');
  flooder.end();

  results['bystander'] = await bystander;
  results['fresh'] = await f.ssh('web', 'echo fresh');
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const sessionWith = (pred: (e: EvidenceEvent) => boolean): EvidenceEvent[] => [...evidence.sessions.values()].find((s) => s.some(pred))!;

describe('malformed and abusive SSH input', () => {
  it('drops a client whose packet claims an impossible length, at once', () => {
    const r = results['oversized'] as { closedAfterMs: number; got: string };
    expect(r.got).toMatch(/^SSH-2\.0-/); // it got the gateway's identification, then was cut off
    expect(r.closedAfterMs).toBeLessThan(AUTH_TIMEOUT_MS);
  });

  it('ends every slow-loris connection at the authentication deadline', () => {
    const r = results['loris'] as { closedAfterMs: number }[];
    expect(r).toHaveLength(20);
    for (const c of r) {
      expect(c.closedAfterMs).toBeGreaterThanOrEqual(AUTH_TIMEOUT_MS - 100);
      expect(c.closedAfterMs).toBeLessThan(AUTH_TIMEOUT_MS + 3_000);
    }
  });

  it('caps a channel flood at maxSessionChannels; the connection and its admitted commands carry on', () => {
    const r = results['flood'] as ({ ok: true; out: string } | { ok: false; error: string })[];
    const ok = r.filter((x) => x.ok);
    const refused = r.filter((x) => !x.ok);
    expect(ok.length).toBeGreaterThanOrEqual(4);
    expect(refused.length).toBeGreaterThan(150);
    for (const x of ok) expect(x.out).toMatch(/^flood-\d+\n$/);
    expect(results['afterFlood']).toEqual({ ok: true, out: 'after-flood\n' });
  });

  it('the flood is recorded once, with its count, not once per refused channel', () => {
    const s = sessionWith((e) => e.type === 'notice' && e['kind'] === 'channel-limit');
    const notices = s.filter((e) => e.type === 'notice' && e['kind'] === 'channel-limit');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ channelKind: 'session', limit: 4 });
    const refusedCount = (results['flood'] as { ok: boolean }[]).filter((x) => !x.ok).length;
    expect(s.find((e) => e.type === 'notice' && e['kind'] === 'channels-refused')).toMatchObject({ counts: { session: refusedCount } });
    // Every admitted command is recorded with its output.
    const commands = s.filter((e) => e.type === 'command');
    expect(commands.length).toBe(201 - refusedCount);
  });

  it('a session running meanwhile finished normally, and new sessions are served', () => {
    expect(results['bystander']).toMatchObject({ code: 0, stdout: 'still-alive\n' });
    expect(results['fresh']).toMatchObject({ code: 0, stdout: 'fresh\n' });
    const s = sessionWith((e) => e.type === 'command' && e['text'] === 'sleep 3; echo still-alive');
    expect(s.some((e) => e.type === 'channel.close' && e['exitStatus'] === 0)).toBe(true);
  });
});
