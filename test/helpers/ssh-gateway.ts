/**
 * A real gateway with only its SSH listener in front of a real sshd (sshd.ts), for integration tests: a
 * fresh appliance (vigil init, which makes the gateway's host key), a bot key pair listed for `deploy-bot`,
 * and the real OpenSSH `ssh` client pinning the gateway's host key.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DRAIN_IN_TESTS } from './gateway.ts';
import { testLogger } from './test-log.ts';
import { createAuditorKey, parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import { parseTrustFile, type TrustFile } from '../../shared/evidence/trust.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { Gateway } from '../../appliance/gateway.ts';
import { initAppliance } from '../../appliance/init.ts';
import { tempDir } from './evidence.ts';
import { sshKeygen, startSshd, SSH_USER, type SshdServer } from './sshd.ts';

export interface SshGatewayFixture {
  sshd: SshdServer;
  gateway: Gateway;
  dir: string;
  configPath: string;
  trust: TrustFile;
  /** The trust file `vigil init` wrote (what an auditor pins; the viewer opens it). */
  trustPath: string;
  auditor: AuditorSecret;
  /** The auditor's secret key file (no passphrase), for the viewer. */
  auditorKeyPath: string;
  port: number;
  /** The bot's private key (listed for deploy-bot). */
  botKey: string;
  /** The gateway's host key fingerprint line, as `vigil init` printed it. */
  initNotes: string[];
  logs(): string;
  /** Runs the real `ssh` through the gateway. */
  ssh(user: string, command: string, o?: { key?: string; input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export interface SshFixtureOptions {
  policies: string;
  /** More targets (YAML list items); `SSHD_PORT` and `SSHD_KEY` are replaced. */
  extraTargets?: string;
  extraConfig?: string;
  /** More keys under listeners.ssh (YAML lines indented by four spaces). */
  listenerExtra?: string;
  /** Runs after vigil init, before the gateway starts (files in `dir`); returns more `NAME` → value replacements for extraTargets. */
  beforeStart?: (dir: string, sshd: SshdServer) => Record<string, string>;
}

export async function startSshGatewayFixture(o: SshFixtureOptions): Promise<SshGatewayFixture> {
  const sshd = await startSshd();
  const dir = tempDir('vigil-ssh-gw-');
  const key = createAuditorKey({ label: 'test auditor' });
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  const auditorKeyPath = join(dir, 'auditor.key');
  writeFileSync(auditorKeyPath, key.secretFile, { mode: 0o600 });
  const init = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')] });
  const botKey = join(dir, 'bot_ed25519');
  const botPub = sshKeygen(botKey, 'deploy-bot@ci');
  const base = readFileSync(init.configPath, 'utf8').split('\nlisteners:')[0]!.trimEnd();
  let extraTargets = o.extraTargets ?? '';
  for (const [name, value] of Object.entries(o.beforeStart?.(dir, sshd) ?? {})) extraTargets = extraTargets.replaceAll(name, value);
  const config = `${base}
listeners:
  ssh:
    address: 127.0.0.1:0
    authorizedKeys:
      - { subject: deploy-bot, groups: [deployers], keys: ['${botPub}'] }
${o.listenerExtra ?? ''}targets:
  - name: web
    protocol: ssh
    host: 127.0.0.1
    port: ${sshd.port}
    user: ${SSH_USER}
    credential: { file: ${sshd.userKeyPath} }
    hostKeys: ['${sshd.hostKey}']
${extraTargets.replaceAll('SSHD_PORT', String(sshd.port)).replaceAll('SSHD_KEY', sshd.userKeyPath)}${o.policies}
${o.extraConfig ?? ''}${/^shutdown:/m.test(o.extraConfig ?? '') ? '' : DRAIN_IN_TESTS}`;
  writeFileSync(init.configPath, config);
  let logText = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += String(chunk);
      cb();
    },
  });
  const gateway = await Gateway.start(init.configPath, { logger: testLogger('gateway', sink) });
  const port = gateway.addresses['ssh']!.port;
  const knownHosts = join(dir, 'known_hosts');
  const gwPub = readFileSync(join(dir, 'appliance', 'keys', 'ssh_host_ed25519_key.pub'), 'utf8').trim();
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${gwPub}\n`);
  return {
    sshd,
    gateway,
    dir,
    configPath: init.configPath,
    trust: parseTrustFile(readFileSync(init.trustPath, 'utf8')),
    trustPath: init.trustPath,
    auditor: parseAuditorSecretKey(key.secretFile).unlock(),
    auditorKeyPath,
    port,
    botKey,
    initNotes: init.notes,
    logs: () => logText,
    ssh: (user, command, so = {}) => runSsh(port, knownHosts, so.key ?? botKey, user, command, so.input),
    stop: async () => {
      await gateway.stop();
      await sshd.stop();
    },
  };
}

export function runSsh(port: number, knownHosts: string, key: string, user: string, command: string, input = '', extra: string[] = [], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [...extra, '-F', '/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=10', '-i', key, '-p', String(port), `${user}@127.0.0.1`, command];
  return new Promise((resolve) => {
    const child = spawn('ssh', args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
