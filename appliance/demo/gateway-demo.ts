/**
 * `vigil demo`: the whole path on a fresh machine with only Node. An embedded PostgreSQL (PGlite, real
 * PostgreSQL compiled to wasm) holds card data; a local identity provider mints a CI bot's OIDC token; the
 * bot connects through the gateway with node-postgres over TLS: its SELECT comes back masked, its DROP
 * TABLE is blocked. Then the evidence is exported and verified offline, and the gateway stays up for
 * anyone who wants to try psql by hand.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { createAuditorKey, parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import { parseTrustFile } from '../../shared/evidence/trust.ts';
import { verifyBundle } from '../../shared/evidence/verify/verify-bundle.ts';
import type { VerificationReport } from '../../shared/evidence/verify/report.ts';
import { Appliance } from '../appliance.ts';
import { selfCommand } from '../build-info.ts';
import { openFileSource } from '../evidence/file-source.ts';
import { exportBundle } from '../export/export-bundle.ts';
import { Gateway } from '../gateway.ts';
import { TestIdentityProvider } from '../identity/test-identity-provider.ts';
import { initAppliance } from '../init.ts';
import type { AppLogger } from '../logger.ts';
import type { ApprovalGate } from '../pipeline/approval-gate.ts';
import { freePort } from './free-port.ts';
import type { DemoSshTarget } from './ssh-target.ts';

export const DEMO_ISSUER = 'https://idp.vigil-demo.invalid';
export const DEMO_AUDIENCE = 'vigil-demo';
export const DEMO_STAFF_ISSUER = 'https://login.vigil-demo.invalid';
export const DEMO_APPROVER = 'alice@acme.example';

const CUSTOMERS = `
CREATE TABLE customers (id int PRIMARY KEY, name text, card_number text, cvv text, note text);
INSERT INTO customers VALUES
  (1, 'Erika Mustermann', '4111111111111111', '123', 'paid with 4111 1111 1111 1111'),
  (2, 'Hans Schmidt', '5555555555554444', '456', 'order 20261129184132123 shipped'),
  (3, 'Lena Vogel', '378282246310005', '7890', 'refund pending');
CREATE TABLE accounts (id int PRIMARY KEY, status text NOT NULL DEFAULT 'open');
INSERT INTO accounts VALUES (88231, 'open'), (88232, 'open');
`;

export interface DemoEnvironment {
  dir: string;
  configPath: string;
  trustPath: string;
  auditorKeyPath: string;
  tokenPath: string;
  /** An approver's token (alice@acme.example, group payments-leads). */
  approverTokenPath: string;
  idp: TestIdentityProvider;
  gateway: Gateway;
  port: number;
  /** The gateway's SSH port, when the SSH part runs. */
  sshPort?: number;
  stopTarget: () => Promise<void>;
}

/** Embedded target, appliance, identity provider and running gateway, all under one new directory. */
/** The SSH part of the demo, when sshd is there: a target host and the deploy bot's public key. */
export interface DemoSsh {
  target: DemoSshTarget;
  botPublicKey: string;
}

export async function startDemoEnvironment(opts: { dir?: string; logger: AppLogger; approvals?: ApprovalGate; extraConfig?: string; ssh?: DemoSsh }): Promise<DemoEnvironment> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'vigil-demo-'));
  const db = await PGlite.create();
  await db.exec(CUSTOMERS);
  const targetPort = await freePort(0);
  const target = new PGLiteSocketServer({ db, port: targetPort, host: '127.0.0.1', maxConnections: 16 });
  await target.start();

  const key = createAuditorKey({ label: 'demo auditor' });
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  writeFileSync(join(dir, 'auditor.key'), key.secretFile, { mode: 0o600 });
  const init = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')] });
  // The demo host trusts the target CA vigil init just made, as an operator's TrustedUserCAKeys would.
  if (opts.ssh) copyFileSync(join(dir, 'appliance', 'keys', 'ssh_target_ca_ed25519_key.pub'), opts.ssh.target.trustedUserCaKeys);
  const idp = await TestIdentityProvider.create({ issuer: DEMO_ISSUER });
  idp.writeJwks(join(dir, 'appliance', 'keys', 'demo-idp-jwks.json'));
  const staff = await TestIdentityProvider.create({ issuer: DEMO_STAFF_ISSUER });
  staff.writeJwks(join(dir, 'appliance', 'keys', 'demo-staff-jwks.json'));
  const port = await freePort(6432);
  const adminPort = await freePort(8443);
  const base = readFileSync(init.configPath, 'utf8').split('\nlisteners:')[0]!.trimEnd();
  writeFileSync(
    init.configPath,
    `${base}

listeners:
  postgres:
    address: 127.0.0.1:${port}
    tls: { cert: tls/server.crt, key: tls/server.key }
${opts.ssh ? sshListener(opts.ssh, await freePort(2222)) : ''}  admin:
    address: 127.0.0.1:${adminPort}
    tls: { cert: tls/server.crt, key: tls/server.key }

identityProviders:
  - name: demo-staff
    issuer: ${DEMO_STAFF_ISSUER}
    audiences: [vigil-admin]
    jwks: { file: keys/demo-staff-jwks.json }
    algorithms: [ES256]
    profile: generic
    groupsClaim: groups
  - name: demo-ci
    issuer: ${DEMO_ISSUER}
    audiences: [${DEMO_AUDIENCE}]
    jwks: { file: keys/demo-idp-jwks.json }
    algorithms: [ES256]
    profile: github-actions

targets:
  - name: payments
    protocol: postgres
    host: 127.0.0.1
    port: ${targetPort}
    database: postgres
    user: postgres
${opts.ssh ? sshTarget(opts.ssh) : ''}
policies:
  - name: ci-payments
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    rules:
      - name: no-destructive-ddl
        when: { classes: [ddl], tags: [drop, truncate] }
        action: block
        reason: DROP and TRUNCATE are never allowed on the CDE database
${opts.extraConfig ?? '    classes: { read: allow, transaction: allow, session: allow, write: require-approval, default: block }\n    approvers: { groups: [payments-leads] }\n'}${opts.ssh ? SSH_POLICY : ''}`,
  );
  const gateway = await Gateway.start(init.configPath, { logger: opts.logger, ...(opts.approvals ? { approvals: opts.approvals } : {}) });
  const approverTokenPath = join(dir, 'approver-token.jwt');
  writeFileSync(approverTokenPath, (await staff.mint({ sub: DEMO_APPROVER, aud: 'vigil-admin', groups: ['payments-leads'] }, { lifetimeSeconds: 3600 })) + '\n', { mode: 0o600 });
  const tokenPath = join(dir, 'bot-token.jwt');
  writeFileSync(tokenPath, (await idp.mintGithubActions({ repository: 'acme/payments', audience: DEMO_AUDIENCE, lifetimeSeconds: 3600 })) + '\n', { mode: 0o600 });
  return {
    dir,
    configPath: init.configPath,
    trustPath: init.trustPath,
    auditorKeyPath: join(dir, 'auditor.key'),
    tokenPath,
    approverTokenPath,
    idp,
    gateway,
    port: gateway.addresses.postgres!.port,
    ...(gateway.addresses['ssh'] ? { sshPort: gateway.addresses['ssh'].port } : {}),
    stopTarget: async () => {
      await target.stop();
      await db.close();
    },
  };
}

function sshListener(ssh: DemoSsh, port: number): string {
  return `  ssh:
    address: 127.0.0.1:${port}
    authorizedKeys:
      - { subject: deploy-bot, groups: [deployers], keys: ['${ssh.botPublicKey}'] }
`;
}

function sshTarget(ssh: DemoSsh): string {
  return `  - name: web
    protocol: ssh
    host: 127.0.0.1
    port: ${ssh.target.port}
    user: ${ssh.target.user}
    credential: { certificate: {} }   # a certificate per session, by keys/ssh_target_ca_ed25519_key
    hostKeys: ['${ssh.target.hostKey}']
`;
}

const SSH_POLICY = `  - name: deploy-web
    match: { subjects: [deploy-bot] }
    targets: [web]
    rules:
      - name: no-sudo
        when: { protocols: [ssh], tags: [sudo] }
        action: block
        reason: bots never run sudo on CDE hosts
      - name: releases-need-approval
        when: { protocols: [ssh], commands: [ln] }
        action: require-approval
        approvers: { groups: [payments-leads] }
    classes: { exec: allow, default: block }
`;

export interface BotStep {
  say: string;
  sql: string;
  /** The command will be held: have the demo approver approve it with `vigil approvals approve`. */
  approve?: string;
}

/** The scripted bot: what a CI job holding only its OIDC token does. Returns printable lines. */
export async function runBot(env: DemoEnvironment, token: string, steps: readonly BotStep[], print: (line: string) => void): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port: env.port, user: 'ci-bot', database: 'payments', password: token, ssl: { rejectUnauthorized: false } });
  await client.connect();
  try {
    for (const step of steps) {
      print(`   ${step.say}`);
      print(`     > ${step.sql}`);
      let onNotice: ((m: { message?: string | undefined }) => void) | undefined;
      const approval = step.approve
        ? new Promise<void>((resolve) => {
            onNotice = (n) => {
              const id = /request (apr_[\w-]+)/.exec(n.message ?? '')?.[1];
              if (!id) return;
              print(`       NOTICE: ${n.message}`);
              print(`       ${DEMO_APPROVER} (an approver, with her own token) runs:`);
              print(`       $ vigil approvals approve ${id} --reason "${step.approve}"`);
              void approveWithCli(env, id, step.approve!).then((out) => {
                print(`         ${out}`);
                resolve();
              });
            };
            client.on('notice', onNotice);
          })
        : undefined;
      try {
        const r = await client.query(step.sql);
        await approval;
        for (const row of r.rows.slice(0, 5)) print(`       ${Object.values(row as Record<string, unknown>).map(String).join(' | ')}`);
        if (!r.rows.length) print(`       ${r.command} ${r.rowCount ?? ''}`.trimEnd());
      } catch (e) {
        print(`       ERROR ${(e as { code?: string }).code ?? ''}: ${(e as Error).message}`);
      } finally {
        if (onNotice) client.off('notice', onNotice);
      }
    }
  } finally {
    await client.end();
  }
}

/** The real `vigil approvals approve` command, as an approver would run it. */
export function approveWithCli(env: DemoEnvironment, id: string, reason: string): Promise<string> {
  const self = selfCommand();
  return new Promise((resolve) => {
    const child = spawn(self[0]!, [...self.slice(1), 'approvals', 'approve', id, '--reason', reason, '--config', env.configPath, '--token-file', env.approverTokenPath]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', () => resolve(out.trim()));
  });
}

/** Stops the gateway (sealing every archive), exports one bundle and verifies it with the auditor key. */
export async function exportAndVerify(env: DemoEnvironment): Promise<{ bundle: string; report: VerificationReport }> {
  await env.gateway.stop();
  const app = await Appliance.open(env.configPath);
  const bundle = join(env.dir, 'evidence.vigil');
  try {
    await exportBundle(app, { out: bundle });
  } finally {
    await app.close();
  }
  const src = openFileSource(bundle);
  try {
    const auditor = parseAuditorSecretKey(readFileSync(env.auditorKeyPath, 'utf8')).unlock();
    const report = await verifyBundle(src, parseTrustFile(readFileSync(env.trustPath, 'utf8')), { auditor });
    return { bundle, report };
  } finally {
    src.close();
  }
}
