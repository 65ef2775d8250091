/**
 * The demo's SSH part: a deploy bot runs the real OpenSSH `ssh` through Vigil to a real sshd. Its `cat` of a
 * file holding card numbers comes back masked, its `sudo` is blocked, and its release switch waits for a
 * human's approval (`vigil approvals approve`) before it reaches the host.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { approveWithCli, type DemoEnvironment } from './gateway-demo.ts';
import type { DemoSshTarget } from './ssh-target.ts';

export interface SshStep {
  say: string;
  command: string;
  /** The command will be held: the demo approver approves it with `vigil approvals approve`. */
  approve?: string;
}

export interface SshBot {
  keyPath: string;
  knownHostsPath: string;
}

/** What the demo target holds before the bot arrives: an export with card numbers and a release to switch to. */
export function seedDemoHost(target: DemoSshTarget): void {
  writeFileSync(
    join(target.home, 'orders.csv'),
    'order,name,card\n1001,Erika Mustermann,4111 1111 1111 1111\n1002,Hans Schmidt,5555555555554444\n',
  );
}

/** Pins the gateway's host key for the bot (what an operator hands out with the fingerprint `vigil init` printed). */
export function writeKnownHosts(path: string, port: number, gatewayHostKeyLine: string): void {
  writeFileSync(path, `[127.0.0.1]:${port} ${gatewayHostKeyLine.split(/\s+/).slice(0, 2).join(' ')}\n`);
}

export async function runSshBot(env: DemoEnvironment, bot: SshBot, steps: readonly SshStep[], print: (line: string) => void): Promise<void> {
  for (const step of steps) {
    print(`   ${step.say}`);
    print(`     $ ssh -p ${env.sshPort} web@127.0.0.1 '${step.command}'`);
    const r = await ssh(env, bot, step.command, (requestId) => {
      print(`       vigil: held for approval, request ${requestId}`);
      print(`       alice@acme.example (an approver, with her own token) runs:`);
      print(`       $ vigil approvals approve ${requestId} --reason "${step.approve}"`);
      return approveWithCli(env, requestId, step.approve ?? 'approved in the demo').then((out) => print(`         ${out}`));
    });
    for (const line of r.stdout.split('\n').filter(Boolean).slice(0, 6)) print(`       ${line}`);
    for (const line of r.stderr.split('\n').filter((l) => l && !/needs approval|vigil approvals/.test(l)).slice(0, 4)) print(`       ${line}`);
    print(`       (exit status ${r.code})`);
  }
}

function ssh(env: DemoEnvironment, bot: SshBot, command: string, onHeld: (requestId: string) => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const args = [
      '-p', String(env.sshPort),
      '-i', bot.keyPath,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${bot.knownHostsPath}`,
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'LogLevel=ERROR',
      'web@127.0.0.1',
      command,
    ];
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let approving: Promise<void> | undefined;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      const id = /request (apr_[\w-]+)/.exec(stderr)?.[1];
      if (id && !approving) approving = onHeld(id);
    });
    child.once('error', reject);
    child.once('close', (code) => void (approving ?? Promise.resolve()).then(() => resolve({ code, stdout, stderr })));
  });
}
