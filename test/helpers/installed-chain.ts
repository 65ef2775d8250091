/**
 * Pieces of the operator's chain on the installed .deb (test/appliance-build/deb.test.ts): a process clock
 * moved back with libfaketime (the installed program has no clock hook, and should not: the clock is the
 * kernel's, moved for its processes only), the configuration an operator writes after `vigil init`, and
 * the check that what a user sees at each step holds no secret and no clear card number.
 */
import { execFileSync } from 'node:child_process';
import { scanLogLines } from './log-scanner.ts';

/**
 * A command prefix (`env LD_PRELOAD=… FAKETIME=…`) that runs a program `offsetSeconds` away from the real
 * clock (CLOCK_REALTIME only: timers and the monotonic clock are real, so heartbeats and timeouts behave).
 * Debian's libfaketime. Put it after the privilege drop (setpriv, runuser): libfaketime shares its clock
 * through a semaphore the first preloaded process creates, which a process of another user cannot open.
 */
export function movedClock(offsetSeconds: number): { prefix: string[]; now: () => Date } {
  const lib = execFileSync('dpkg', ['-L', 'libfaketime'], { encoding: 'utf8' })
    .split('\n')
    .find((p) => p.endsWith('/libfaketime.so.1'));
  if (!lib) throw new Error('libfaketime is not installed (apt-get install faketime; scripts/ensure-system-packages.sh does it)');
  return {
    prefix: ['env', `LD_PRELOAD=${lib}`, `FAKETIME=${offsetSeconds}`, 'FAKETIME_DONT_FAKE_MONOTONIC=1'],
    now: () => new Date(Date.now() + offsetSeconds * 1000),
  };
}

export const AUDIENCE = 'vigil-prod';

/**
 * What an operator adds to the vigil.yaml that `vigil init` wrote: free ports, a token provider, an SSH key
 * for a deploy bot, a PostgreSQL and an SSH target (key file under secrets/, host key pinned), a policy
 * for each, retention.
 */
export function operatorConfig(
  init: string,
  o: { pg: number; ssh: number; admin: number; targetPort: number; retentionDays: number; sshTarget: { port: number; user: string; hostKey: string }; botKey: string },
): string {
  const replaced = init
    .replace('127.0.0.1:6432', `127.0.0.1:${o.pg}`)
    .replace('127.0.0.1:2222', `127.0.0.1:${o.ssh}`)
    .replace('127.0.0.1:8443', `127.0.0.1:${o.admin}`)
    .replace(/^ {4}authorizedKeys: \[\]$/m, `    authorizedKeys:\n      - { subject: deploy-bot, groups: [deployers], keys: ['${o.botKey}'] }`)
    .replace(
      /^identityProviders: \[\]$/m,
      `identityProviders:
  - name: github
    issuer: https://token.actions.githubusercontent.com
    audiences: [${AUDIENCE}]
    jwks: { file: keys/github-jwks.json }
    algorithms: [ES256]
    profile: github-actions`,
    )
    .replace(
      /^targets: \[\]$/m,
      `targets:
  - name: payments
    protocol: postgres
    host: 127.0.0.1
    port: ${o.targetPort}
    database: payments
    user: svc_reporting
    credential: { file: secrets/payments.password }
  - name: web
    protocol: ssh
    host: 127.0.0.1
    port: ${o.sshTarget.port}
    user: ${o.sshTarget.user}
    credential: { file: secrets/web.key }
    hostKeys: ['${o.sshTarget.hostKey}']`,
    )
    .replace(
      /^policies: \[\]$/m,
      `policies:
  - name: ci-readonly
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, transaction: allow, session: allow, default: block }
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    classes: { exec: allow, default: block }`,
    );
  for (const section of ['authorizedKeys:\n      - { subject: deploy-bot', 'identityProviders:\n  - name: github', 'targets:\n  - name: payments', 'policies:\n  - name: ci-readonly']) {
    if (!replaced.includes(section)) throw new Error(`vigil init's vigil.yaml changed shape: could not add ${section.split(':')[0]}`);
  }
  return `${replaced.trimEnd()}\n\nretention:\n  days: ${o.retentionDays}\n  policy: pci-12-months\n  intervalHours: 24\nshutdown: { drainSeconds: 0 }\n`;
}

/** The shipping section for a bucket on the test's versitygw; the credentials file lives in /etc/vigil. */
export function shippingConfig(endpoint: string, bucket: string, credentialsFile: string): string {
  return `shipping:
  endpoint: ${endpoint}
  region: us-east-1
  bucket: ${bucket}
  prefix: vigil/prod-1/
  forcePathStyle: true
  credentialsFile: ${credentialsFile}
  intervalSeconds: 1
  pruneLocal: true
  keepLocalDays: 0
`;
}

/** Everything a user was shown along the chain, checked at the end: no secret, no token, no clear PAN. */
export class SeenByUser {
  private readonly lines: string[] = [];
  private readonly secrets: string[] = [];

  secret(s: string): void {
    this.secrets.push(s);
  }

  /** Records a step's output and returns it (for chaining). */
  saw<T extends { stdout: string; stderr: string }>(step: string, r: T): T {
    for (const l of `${r.stdout}\n${r.stderr}`.split('\n')) if (l.trim()) this.lines.push(`${step}: ${l}`);
    return r;
  }

  findings(): string[] {
    return scanLogLines(this.lines, this.secrets).map((f) => `${this.lines[f.line - 1]!.slice(0, 200)} — ${f.what}`);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }

  count(): number {
    return this.lines.length;
  }
}
