/**
 * Attacks on the legacy scp relay (`scp -t`/`scp -f` execs), with the real OpenSSH `ssh` and `scp` clients
 * and a real sshd. A raw client speaks the scp protocol itself to plant files outside the target directory,
 * to smuggle a control line inside the data of a file the target refused, to reach a blocked directory
 * through a symlink, and to run `scp -f` where the relay cannot see its paths. Both halves: the target is
 * unchanged / the client got nothing, and the verified evidence says what happened.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { failures } from '../helpers/evidence.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';
import { scp, sshOptions, type Run } from '../integration/ssh/transfer-clients.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    rules:
      - name: no-vault
        when: { protocols: [ssh], objects: ['*/vault/*', '*/vault'] }
        action: block
      - name: no-secrets
        when: { protocols: [ssh], objects: ['*/secret*'] }
        action: block
    classes: { exec: allow, read: allow, write: allow, default: block }
`;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let s: string;
const r: Record<string, Run> = {};

/** The scp protocol as a raw client would send it to `scp -t` (everything at once, not waiting for replies). */
function upload(dir: string, stream: string): Promise<Run> {
  return f.ssh('web', `scp -t ${dir}`, { input: stream });
}

/** Runs scp and kills it (its whole process group, ssh included) once `watch` holds more than 1 MiB. */
function killedMidway(args: string[], watch: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('scp', args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      if ((existsSync(watch) ? statSync(watch).size : 0) > 1024 * 1024) {
        clearInterval(poll);
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }, 5);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code: code ?? -1, stdout: '', stderr });
    });
  });
}

beforeAll(async () => {
  f = await startSshGatewayFixture({ policies: POLICIES });
  s = f.sshd.scratch;
  mkdirSync(join(s, 'pub'), { mode: 0o777 });
  mkdirSync(join(s, 'pub', 'a.txt'), { mode: 0o777 }); // the target's scp refuses to write a file over a directory
  mkdirSync(join(s, 'vault'), { mode: 0o777 });
  symlinkSync(join(s, 'vault'), join(s, 'pub', 'door'));
  writeFileSync(join(s, 'secret-keep.txt'), 'do not read');
  writeFileSync(join(s, 'one.txt'), 'one');
  writeFileSync(join(f.dir, 'up.txt'), 'planted');
  r['dotdot'] = await upload(`${s}/pub`, 'C0644 7 ..\nplanted\0');
  r['slash'] = await upload(`${s}/pub`, 'C0644 7 ../planted.txt\nplanted\0');
  const smuggled = 'C0644 7 secret.txt\nplanted\0';
  r['smuggle'] = await upload(`${s}/pub`, `C0644 ${smuggled.length} a.txt\n${smuggled}\0`);
  r['symlink'] = await scp(f, join(f.dir, 'up.txt'), `web@127.0.0.1:${s}/pub/door/`, true);
  mkdirSync(join(f.dir, 'wild'));
  r['wildcard'] = await scp(f, `web@127.0.0.1:${s}/*.txt`, join(f.dir, 'wild'), true);
  r['nested'] = await f.ssh('web', `sh -c 'scp -f ${s}/secret-keep.txt'`, { input: '\0\0\0' });
  r['sudo'] = await f.ssh('web', `env scp -f ${s}/one.txt`, { input: '\0\0\0' });
  // A client that goes away in the middle of a download and of an upload (killed once 1 MiB of the file has
  // arrived, whatever the machine's speed): the gateway carries on.
  writeFileSync(join(s, 'big.bin'), Buffer.alloc(256 * 1024 * 1024, 'z'));
  writeFileSync(join(f.dir, 'big-up.bin'), Buffer.alloc(256 * 1024 * 1024, 'u'));
  r['cutDown'] = await killedMidway(['-O', ...sshOptions(f), '-P', String(f.port), `web@127.0.0.1:${s}/big.bin`, join(f.dir, 'big.bin')], join(f.dir, 'big.bin'));
  r['cutUp'] = await killedMidway(['-O', ...sshOptions(f), '-P', String(f.port), join(f.dir, 'big-up.bin'), `web@127.0.0.1:${s}/big-up.bin`], join(s, 'big-up.bin'));
  r['after'] = await f.ssh('web', 'echo still-serving');
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 180_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const sessions = (): EvidenceEvent[][] => [...evidence.sessions.values()];
/** The session whose exec line is `command`. */
const sessionOf = (command: string): EvidenceEvent[] => sessions().find((evs) => evs.some((e) => e.type === 'channel.open' && e['command'] === command))!;

describe('legacy scp relay attacks', () => {
  it('a file name `..`: the channel ends, nothing is written, the error is recorded', () => {
    expect(r['dotdot']!.stderr).toMatch(/vigil: refused: a file name the receiver would refuse/);
    const evs = sessionOf(`scp -t ${s}/pub`);
    expect(evs.some((e) => e.type === 'error' && e['code'] === 'ssh.scp-protocol')).toBe(true);
    expect(evs.some((e) => e.type === 'command' && e['kind'] === 'scp')).toBe(false);
  });

  it('a file name with a slash (`../planted.txt`): refused the same way, nothing written outside the target directory', () => {
    expect(r['slash']!.stderr).toContain('a file name with a slash');
    expect(existsSync(join(s, 'planted.txt'))).toBe(false);
    expect(readdirSync(join(s, 'pub')).sort()).toEqual(['a.txt', 'door']);
  });

  it('a control line hidden in the data of a file the target refused is read as a line, and decided: blocked', () => {
    expect(existsSync(join(s, 'pub', 'secret.txt'))).toBe(false);
    const evs = sessions().find((e) => e.some((x) => x.type === 'command' && x['text'] === `put ${s}/pub/secret.txt`))!;
    expect(evs).toBeDefined();
    const cmd = evs.find((e) => e.type === 'command' && e['text'] === `put ${s}/pub/secret.txt`)!;
    expect(evs.find((e) => e.type === 'decision' && e['command'] === cmd['id'])).toMatchObject({ decision: 'block', rule: 'deploy/no-secrets' });
    expect(evs.find((e) => e.type === 'transfer' && e['path'] === `${s}/pub/a.txt`)).toMatchObject({ outcome: 'failed' });
  });

  it('an upload into a blocked directory through a symlink: refused by its real path', () => {
    expect(r['symlink']!.code).not.toBe(0);
    expect(existsSync(join(s, 'vault', 'up.txt'))).toBe(false);
    const evs = sessions().find((e) => e.some((x) => x.type === 'command' && x['text'] === `put ${s}/pub/door/up.txt`))!;
    const cmd = evs.find((e) => e.type === 'command' && e['text'] === `put ${s}/pub/door/up.txt`)!;
    expect((cmd['classification'] as { tables: string[] }[])[0]!.tables).toContain(`${s}/vault/up.txt`);
    expect(evs.find((e) => e.type === 'decision' && e['command'] === cmd['id'])).toMatchObject({ decision: 'block', rule: 'deploy/no-vault' });
  });

  it('a remote wildcard, `sh -c` and `env` around scp -f: refused before anything runs, nothing reaches the client', () => {
    expect(readdirSync(join(f.dir, 'wild'))).toEqual([]);
    expect(r['wildcard']!.stderr).toContain('vigil/ssh-scp-unreadable');
    for (const k of ['nested', 'sudo']) {
      expect(r[k]!.code).not.toBe(0);
      expect(r[k]!.stdout).not.toMatch(/do not read|one/);
      expect(r[k]!.stderr).toContain('vigil/ssh-scp-unreadable');
    }
    const evs = sessionOf(`sh -c 'scp -f ${s}/secret-keep.txt'`);
    const cmd = evs.find((e) => e.type === 'command')!;
    expect(evs.find((e) => e.type === 'decision' && e['command'] === cmd['id'])).toMatchObject({ decision: 'block', rule: 'vigil/ssh-scp-unreadable' });
  });

  it('a client killed in the middle of a download or an upload: the gateway serves on, the transfers are recorded unfinished', () => {
    expect(r['cutDown']!.code).not.toBe(0);
    expect(r['after']!.stdout.trim()).toBe('still-serving');
    const all = sessions().flat();
    const down = all.find((e) => e.type === 'transfer' && e['path'] === `${s}/big.bin`);
    const up = all.find((e) => e.type === 'transfer' && e['path'] === `${s}/big-up.bin`);
    expect(down).toMatchObject({ direction: 'download', sha256: null });
    expect(up).toMatchObject({ direction: 'upload', sha256: null });
    expect(['aborted', 'failed']).toContain(down!['outcome']);
    expect(['aborted', 'failed']).toContain(up!['outcome']);
  });

  it('the evidence verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });
});
