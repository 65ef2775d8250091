/**
 * A real gateway in front of a real PostgreSQL 15 for integration tests: a throwaway cluster with a
 * `payments` database holding card data, a fresh appliance (vigil init), a test identity provider, and
 * Gateway.start() in this process. psql / node-postgres / pgbench then connect as a bot would.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { registerTestSecret, testLogger } from './test-log.ts';
import { createAuditorKey, parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import { parseTrustFile, type TrustFile } from '../../shared/evidence/trust.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import type { VerificationReport } from '../../shared/evidence/verify/report.ts';
import { verifyBundle } from '../../shared/evidence/verify/verify-bundle.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { openFileSource } from '../../appliance/evidence/file-source.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import { Gateway } from '../../appliance/gateway.ts';
import { initAppliance } from '../../appliance/init.ts';
import { TestIdentityProvider } from '../../appliance/identity/test-identity-provider.ts';
import type { ApprovalGate } from '../../appliance/pipeline/approval-gate.ts';
import { PGBIN, startPostgres, type PostgresServer } from './postgres.ts';
import { tempDir } from './evidence.ts';

/**
 * Fixtures stop their gateway without draining (a test that leaves a session open would otherwise wait
 * shutdown.drainSeconds' default 30 s at every stop); test/integration/ops/observability.test.ts tests the drain.
 */
export const DRAIN_IN_TESTS = 'shutdown: { drainSeconds: 0 }\n';

export const TARGET_PASSWORD = 'target-Secret-9f3k2';
export const AUDIENCE = 'vigil-test';
export const STAFF_ISSUER = 'https://login.acme.test';

/** Card data the tests expect to come back masked: real test PANs, CVVs, one track. */
export const CARD_ROWS = [
  { id: 1, name: 'Erika Mustermann', card: '4111111111111111', cvv: '123', note: 'paid with 4111 1111 1111 1111 on 2026-11-01' },
  { id: 2, name: 'Hans Schmidt', card: '5555555555554444', cvv: '456', note: 'order 20261129184132123 shipped' },
  { id: 3, name: 'Lena Vogel', card: '378282246310005', cvv: '7890', note: 'track ;4111111111111111=29121010000012345678?' },
];

export const SCHEMA = `
CREATE TABLE customers (id int PRIMARY KEY, name text, card_number text, cvv text, note text, card_as_number bigint);
${CARD_ROWS.map((r) => `INSERT INTO customers VALUES (${r.id}, '${r.name}', '${r.card}', '${r.cvv}', '${r.note}', ${r.card});`).join('\n')}
CREATE TABLE accounts (id int PRIMARY KEY, status text NOT NULL DEFAULT 'open', balance numeric NOT NULL DEFAULT 0);
INSERT INTO accounts SELECT g, 'open', g * 10 FROM generate_series(1, 100) g;
CREATE TABLE audit_scratch (id serial PRIMARY KEY, v text);
CREATE ROLE svc_reporting LOGIN PASSWORD '${TARGET_PASSWORD}';
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO svc_reporting;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO svc_reporting;
GRANT CREATE ON SCHEMA public TO svc_reporting;
`;

export interface GatewayFixture {
  pg: PostgresServer;
  gateway: Gateway;
  idp: TestIdentityProvider;
  dir: string;
  configPath: string;
  trust: TrustFile;
  trustPath: string;
  auditor: AuditorSecret;
  auditorKeyPath: string;
  port: number;
  /** A staff (human) identity provider for approvers: tokens carry `groups`. */
  staff: TestIdentityProvider;
  staffToken: (subject: string, groups: string[]) => Promise<string>;
  /** The admin API. */
  adminUrl: string;
  adminCa: string;
  /** Everything the appliance logged (JSON lines). */
  logs: () => string;
  /** A GitHub-Actions-shaped token for `repo` (default: the read-only CI bot). */
  token: (o?: { repository?: string; lifetimeSeconds?: number; audience?: string }) => Promise<string>;
  /** Runs psql through the gateway with a token as password (async: the gateway runs in this process). */
  psql: (sql: string, o?: PsqlOptions) => Promise<{ code: number; stdout: string; stderr: string }>;
  stop: () => Promise<void>;
}

export interface PsqlOptions {
  token?: string;
  sslmode?: string;
  database?: string;
  input?: string;
  extraEnv?: Record<string, string>;
  args?: string[];
}

export function runPsql(port: number, sql: string | undefined, token: string, p: PsqlOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const args = ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...(p.args ?? []), ...(sql !== undefined ? ['-c', sql] : [])];
    const child = spawn(join(PGBIN, 'psql'), args, {
      env: {
        ...process.env,
        PGHOST: '127.0.0.1',
        PGPORT: String(port),
        PGUSER: 'ci-bot',
        PGDATABASE: p.database ?? 'payments',
        PGPASSWORD: p.token ?? token,
        PGSSLMODE: p.sslmode ?? 'require',
        PGCONNECT_TIMEOUT: '10',
        ...p.extraEnv,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(p.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface FixtureOptions {
  policies?: string;
  evidence?: string;
  listener?: string;
  /** Files (path relative to the appliance directory → content, mode 0600) written before the gateway starts. */
  files?: Record<string, string>;
  /** More keys for listeners.admin (YAML lines indented by four spaces), e.g. its metrics block. */
  adminExtra?: string;
  extraConfig?: string;
  /** More entries for the targets list (YAML, indented as list items). */
  extraTargets?: string;
  /** More keys for the payments target (YAML lines indented by four spaces). */
  targetExtra?: string;
  /** More keys for the `github` identity provider (YAML, indented as its keys), e.g. clockToleranceSeconds. */
  githubProvider?: string;
  approvals?: ApprovalGate;
  pgTls?: boolean;
  pgAuth?: 'scram-sha-256' | 'md5';
  durability?: 'fsync' | 'write';
  /** Runs against the target cluster after the schema is in place. */
  beforeStart?: (pg: PostgresServer) => void | Promise<void>;
}

export const DEFAULT_POLICIES = `
policies:
  - name: ci-readonly
    match: { subjects: ['repo:acme/*'] }
    targets: ['payments*', 'archive-*']
    rules:
      - name: no-destructive-ddl
        when: { classes: [ddl], tags: [drop, truncate] }
        action: block
        reason: DROP and TRUNCATE are never allowed on the CDE database
    statements: { read: allow, transaction: allow, session: allow, copy-out: allow, copy-in: allow, write: allow, resource: allow, default: block }
  - name: readonly-only
    match: { subjects: ['repo:other/*'] }
    targets: ['payments*']
    statements: { read: allow, default: block }
`;

export async function startGatewayFixture(o: FixtureOptions = {}): Promise<GatewayFixture> {
  // An attack suite keeps every connection open until it collects the evidence at the end: PostgreSQL's
  // default of 100 connections is too close to what the larger suites (derived-masking) open.
  const pg = await startPostgres({ conf: { max_connections: '300' }, ...(o.pgTls ? { tls: true } : {}), ...(o.pgAuth ? { auth: o.pgAuth } : {}) });
  pg.psql('CREATE DATABASE payments');
  pg.psql(SCHEMA, { database: 'payments' });
  await o.beforeStart?.(pg);
  const dir = tempDir('vigil-gw-');
  const key = createAuditorKey({ label: 'test auditor' });
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  const auditorKeyPath = join(dir, 'auditor.key');
  writeFileSync(auditorKeyPath, key.secretFile, { mode: 0o600 });
  const init = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')] });
  const idp = await TestIdentityProvider.create({ issuer: 'https://token.actions.githubusercontent.com' });
  idp.writeJwks(join(dir, 'appliance', 'keys', 'idp-jwks.json'));
  const staff = await TestIdentityProvider.create({ issuer: STAFF_ISSUER });
  staff.writeJwks(join(dir, 'appliance', 'keys', 'staff-jwks.json'));
  writeFileSync(join(dir, 'appliance', 'secrets', 'payments.password'), TARGET_PASSWORD + '\n', { mode: 0o600 });
  const base = readFileSync(init.configPath, 'utf8').split('\nlisteners:')[0]!;
  const config = `${base.replace('durability: fsync', `durability: ${o.durability ?? 'fsync'}`).trimEnd()}
${o.evidence ?? ''}
listeners:
  postgres:
    address: 127.0.0.1:0
    tls: { cert: tls/server.crt, key: tls/server.key }
${o.listener ?? ''}  admin:
    address: 127.0.0.1:0
    tls: { cert: tls/server.crt, key: tls/server.key }
${o.adminExtra ?? ''}identityProviders:
  - name: staff
    issuer: ${STAFF_ISSUER}
    audiences: [vigil-admin]
    jwks: { file: keys/staff-jwks.json }
    algorithms: [ES256]
    profile: generic
    groupsClaim: groups
  - name: github
    issuer: https://token.actions.githubusercontent.com
    audiences: [${AUDIENCE}]
    jwks: { file: keys/idp-jwks.json }
    algorithms: [ES256]
    profile: github-actions
${o.githubProvider ?? ''}targets:
  - name: payments
    protocol: postgres
    host: 127.0.0.1
    port: ${pg.port}
    database: payments
    user: svc_reporting
    credential: { file: secrets/payments.password }
${o.pgTls ? '    tls: { mode: require }\n' : ''}${o.targetExtra ?? ''}${o.extraTargets ?? ''}${o.policies ?? DEFAULT_POLICIES}
${o.extraConfig ?? ''}${/^shutdown:/m.test(o.extraConfig ?? '') ? '' : DRAIN_IN_TESTS}`;
  if (pg.certificate) writeFileSync(join(dir, 'appliance', 'tls', 'target-ca.crt'), pg.certificate);
  writeFileSync(init.configPath, config.replaceAll('PGPORT', String(pg.port)).replaceAll('PGCA', 'tls/target-ca.crt'));
  for (const [p, text] of Object.entries(o.files ?? {})) writeFileSync(join(dir, 'appliance', p), text, { mode: 0o600 });
  let logText = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += String(chunk);
      cb();
    },
  });
  const logger = testLogger('gateway', sink);
  registerTestSecret(TARGET_PASSWORD);
  const gateway = await Gateway.start(init.configPath, { logger, ...(o.approvals ? { approvals: o.approvals } : {}) });
  const port = gateway.addresses.postgres!.port;
  const token = async (t: { repository?: string; lifetimeSeconds?: number; audience?: string } = {}) => {
    const minted = await idp.mintGithubActions({
      repository: t.repository ?? 'acme/payments',
      audience: t.audience ?? AUDIENCE,
      ...(t.lifetimeSeconds ? { lifetimeSeconds: t.lifetimeSeconds } : {}),
    });
    registerTestSecret(minted);
    return minted;
  };
  const defaultToken = await token();
  return {
    pg,
    gateway,
    idp,
    dir,
    configPath: init.configPath,
    trust: parseTrustFile(readFileSync(init.trustPath, 'utf8')),
    trustPath: init.trustPath,
    auditor: parseAuditorSecretKey(key.secretFile).unlock(),
    auditorKeyPath,
    port,
    staff,
    staffToken: (subject, groups) => staff.mint({ sub: subject, aud: 'vigil-admin', groups }),
    adminUrl: `https://127.0.0.1:${gateway.addresses.admin!.port}`,
    adminCa: join(dir, 'appliance', 'tls', 'server.crt'),
    logs: () => logText,
    token,
    psql: (sql, p = {}) => runPsql(port, sql, defaultToken, p),
    stop: async () => {
      await gateway.stop();
      await pg.stop();
    },
  };
}

export interface ExportedEvidence {
  report: VerificationReport;
  /** Every decrypted event, by session id. */
  sessions: Map<string, EvidenceEvent[]>;
}

/**
 * Exports a bundle of everything the (stopped) appliance at `configPath` holds and verifies it with the
 * auditor key, collecting each session's decrypted events.
 */
export async function exportAndVerify(f: Pick<GatewayFixture, 'configPath' | 'dir' | 'trust' | 'auditor'>, name = 'bundle.vigil'): Promise<ExportedEvidence> {
  const app = await Appliance.open(f.configPath);
  const out = join(f.dir, name);
  try {
    await exportBundle(app, { out });
  } finally {
    await app.close();
  }
  const sessions: ExportedEvidence['sessions'] = new Map();
  const src = openFileSource(out);
  try {
    const report = await verifyBundle(src, f.trust, { auditor: f.auditor, onEvents: (id, evs) => sessions.set(id, [...(sessions.get(id) ?? []), ...evs]) });
    return { report, sessions };
  } finally {
    src.close();
  }
}
