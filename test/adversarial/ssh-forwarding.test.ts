/**
 * Port forwarding through the SSH gateway, attacked with the real OpenSSH client (`ssh -W`, `ssh -L`) against
 * a real sshd: only destinations in `ssh.forwarding.allow` that the rules allow are reached, and only through
 * the target host. Each attack asserts both halves: the destination saw no connection, and the verified
 * bundle records the refusal (or, for an allowed forward, its open, close and byte counts).
 */
import { spawn } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';

/** A TCP service on 127.0.0.1 that counts connections and echoes what it gets, upper-cased. */
async function service(): Promise<{ port: number; connections: () => number; server: Server }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.on('data', (b) => s.write(String(b).toUpperCase()));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, connections: () => n, server };
}

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let allowed: Awaited<ReturnType<typeof service>>;
let ruled: Awaited<ReturnType<typeof service>>;
let unlisted: Awaited<ReturnType<typeof service>>;
const results: Record<string, { code: number; stdout: string; stderr: string }> = {};

function sshArgs(extra: string[]): string[] {
  return [...extra, '-F', '/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(f.dir, 'known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', f.botKey, '-p', String(f.port)];
}

/** `ssh -W host:port` (the stdio forward ProxyJump uses): what it sends and what comes back. */
function stdioForward(dest: string, input: string, user = 'web'): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ssh', [...sshArgs(['-W', dest]), `${user}@127.0.0.1`]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      // The echo came back: close our end so ssh ends the forward.
      if (stdout.length >= input.length) child.stdin.end();
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.write(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** `ssh -N -L` with a real local listener: one connection through it, then the tunnel is closed. */
async function localForward(dest: string, input: string): Promise<string> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const localPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const child = spawn('ssh', [...sshArgs(['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${localPort}:${dest}`]), 'web@127.0.0.1']);
  child.stderr.on('data', () => undefined);
  try {
    for (let i = 0; i < 200; i++) {
      const got = await new Promise<string | undefined>((resolve) => {
        const s = connect(localPort, '127.0.0.1', () => s.write(input));
        let out = '';
        s.on('data', (b) => {
          out += b;
          if (out.length >= input.length) s.end();
        });
        s.on('close', () => resolve(out || undefined));
        s.on('error', () => resolve(undefined));
      });
      if (got) return got;
      await new Promise((r) => setTimeout(r, 50));
    }
    return '';
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}

beforeAll(async () => {
  [allowed, ruled, unlisted] = await Promise.all([service(), service(), service()]);
  f = await startSshGatewayFixture({
    policies: `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    ssh:
      forwarding:
        allow: ['127.0.0.1:${allowed.port}', 'LocalHost:${allowed.port}', '127.0.0.1:${ruled.port}']
    rules:
      - name: no-metrics-port
        when: { protocols: [ssh], classes: [forward], objects: ['127.0.0.1:${ruled.port}'] }
        action: block
        reason: the metrics port is not for bots
    classes: { exec: allow, forward: allow, default: block }
`,
  });
  results['stdio'] = await stdioForward(`127.0.0.1:${allowed.port}`, 'hello forward\n');
  results['caseFolded'] = await stdioForward(`LOCALHOST:${allowed.port}`, 'case\n');
  results['unlisted'] = await stdioForward(`127.0.0.1:${unlisted.port}`, 'never\n');
  // The same address spelled so a literal allow-list would miss it, but the target's resolver would not.
  results['altSpelling'] = await stdioForward(`127.1:${unlisted.port}`, 'never\n');
  results['ruled'] = await stdioForward(`127.0.0.1:${ruled.port}`, 'never\n');
  results['local'] = { code: 0, stdout: await localForward(`127.0.0.1:${allowed.port}`, 'via -L\n'), stderr: '' };
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 120_000);

afterAll(async () => {
  await f?.sshd.stop();
  for (const s of [allowed, ruled, unlisted]) s?.server.close();
});

const all = (): EvidenceEvent[] => [...evidence.sessions.values()].flat();
const commandsTo = (port: number) => all().filter((e) => e.type === 'command' && e['kind'] === 'forward' && String(e['text']).endsWith(`:${port}`));
const decisionOf = (cmd: EvidenceEvent) => [...evidence.sessions.values()].find((s) => s.includes(cmd))!.find((e) => e.type === 'decision' && e['command'] === cmd['id'])!;

describe('allowed port forwards', () => {
  it('ssh -W reaches an allow-listed destination through the target, with open, close and byte counts recorded', () => {
    expect(results['stdio']!.stdout).toBe('HELLO FORWARD\n');
    const cmd = commandsTo(allowed.port)[0]!;
    expect(cmd['classification']).toEqual([{ class: 'forward', command: 'direct-tcpip', tags: [], tables: [`127.0.0.1:${allowed.port}`] }]);
    expect(decisionOf(cmd)['decision']).toBe('allow');
    const session = [...evidence.sessions.values()].find((s) => s.includes(cmd))!;
    const open = session.find((e) => e.type === 'forward.open')!;
    expect(open).toMatchObject({ channel: cmd['channel'], host: '127.0.0.1', port: allowed.port });
    expect(String(open['origin'])).toMatch(/:\d+$/);
    // Recorded before it opened: the decision precedes the forward.
    expect(session.indexOf(decisionOf(cmd))).toBeLessThan(session.indexOf(open));
    const close = session.find((e) => e.type === 'forward.close')!;
    expect(close).toMatchObject({ channel: cmd['channel'], bytesOut: 'hello forward\n'.length, bytesIn: 'HELLO FORWARD\n'.length });
  });

  it('matches host names case-insensitively', () => {
    expect(results['caseFolded']!.stdout).toBe('CASE\n');
    expect(all().some((e) => e.type === 'command' && e['text'] === `direct-tcpip localhost:${allowed.port}`)).toBe(true);
  });

  it('ssh -L: a real local listener tunnels through', () => {
    expect(results['local']!.stdout).toBe('VIA -L\n');
  });
});

describe('refused port forwards', () => {
  it('a destination not in ssh.forwarding.allow is never connected to; the refusal is recorded', () => {
    expect(results['unlisted']!.stdout).toBe('');
    expect(results['unlisted']!.stderr).toMatch(/open failed|administratively prohibited/i);
    expect(unlisted.connections()).toBe(0);
    const cmds = commandsTo(unlisted.port);
    expect(cmds.length).toBe(2);
    for (const c of cmds) expect(decisionOf(c)).toMatchObject({ decision: 'block', rule: 'ssh.forwarding' });
  });

  it('another spelling of an allowed address (127.1) is refused: the list is matched literally, never resolved by Vigil', () => {
    expect(results['altSpelling']!.stdout).toBe('');
    expect(all().some((e) => e.type === 'command' && e['text'] === `direct-tcpip 127.1:${unlisted.port}`)).toBe(true);
  });

  it('a rule inside the allow list blocks its destination', () => {
    expect(results['ruled']!.stdout).toBe('');
    expect(ruled.connections()).toBe(0);
    expect(decisionOf(commandsTo(ruled.port)[0]!)).toMatchObject({ decision: 'block', rule: 'deploy/no-metrics-port' });
  });

  it('no forward.open is recorded for a refused destination', () => {
    const opens = all().filter((e) => e.type === 'forward.open');
    expect(opens.every((e) => e['port'] === allowed.port)).toBe(true);
  });
});
