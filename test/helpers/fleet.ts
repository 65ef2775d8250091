/**
 * A fleet on 127.0.0.1 for tests: a target PostgreSQL 15 (the `payments` database of gateway.ts), a
 * second PostgreSQL 15 as the fleet's shared store, and N appliances (each its own `vigil init`
 * directory, signing key and transparency log) run as real `vigil serve` processes with the same
 * identity providers and policy and `sharedState.postgres` pointing at the shared store — directly, or
 * through a TCP proxy the test can cut (a partition of that appliance alone).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createAuditorKey, parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import { parseTrustFile, type TrustFile } from '../../shared/evidence/trust.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { initAppliance } from '../../appliance/init.ts';
import { TestIdentityProvider } from '../../appliance/identity/test-identity-provider.ts';
import { ROOT } from './cli.ts';
import { tempDir } from './evidence.ts';
import { AUDIENCE, SCHEMA, STAFF_ISSUER, TARGET_PASSWORD } from './gateway.ts';
import { PGBIN, startPostgres, type PostgresServer } from './postgres.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { registerTestSecret, testLogPath } from './test-log.ts';

/** A token the final log scan must never find. */
function scanFor(token: string): string {
  registerTestSecret(token);
  return token;
}

export interface FleetNode {
  name: string;
  applianceId: string;
  dir: string;
  configPath: string;
  trust: TrustFile;
  adminCa: string;
  /** Set while the process runs. */
  pgPort: number;
  adminUrl: string;
  /** The proxy between this appliance and the shared store, if asked for. */
  proxy: TcpProxy | undefined;
  /** Everything the process wrote to stderr (its JSON log). */
  logs(): string;
  /** How often its log says `msg` (e.g. 'connected to the shared store'). */
  said(msg: string): number;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  running(): boolean;
}

export interface Fleet {
  target: PostgresServer;
  shared: PostgresServer;
  nodes: FleetNode[];
  dir: string;
  auditor: AuditorSecret;
  token(o?: { repository?: string }): Promise<string>;
  staffToken(subject: string, groups: string[]): Promise<string>;
  /** SQL on the shared store (psql, as gw). */
  sharedSql(sql: string): string;
  /** Stops (fast) and restarts the shared store's PostgreSQL on the same port, keeping its data. */
  stopShared(): Promise<void>;
  startShared(): Promise<void>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  appliances?: number;
  policies: string;
  /** Appliances (by index) that reach the shared store through a cuttable proxy. */
  proxied?: number[];
  extraConfig?: string;
  githubProvider?: string;
  /** false: no sharedState block (each appliance on its own SQLite), for single-appliance baselines. */
  shareState?: boolean;
  /** Serve /metrics on each admin listener with this bearer token (listeners.admin.metrics.tokenFile). */
  metricsToken?: string;
  /** sharedState.witness.intervalSeconds (default: the appliance's, 60). */
  witnessIntervalSeconds?: number;
}

const asPostgres = (args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const [cmd, ...rest] = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
    const p = spawn(cmd!, rest, { stdio: 'ignore' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const target = await startPostgres();
  target.psql('CREATE DATABASE payments');
  target.psql(SCHEMA, { database: 'payments' });
  const shared = await startPostgres({ password: 'fleet-Store-7c1x' });
  shared.psql('CREATE DATABASE vigil_fleet');
  registerTestSecret(shared.password);
  const dir = tempDir('vigil-fleet-');
  const key = createAuditorKey({ label: 'fleet auditor' });
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  const idp = await TestIdentityProvider.create({ issuer: 'https://token.actions.githubusercontent.com' });
  const staff = await TestIdentityProvider.create({ issuer: STAFF_ISSUER });
  const children = new Set<ChildProcess>();
  const nodes: FleetNode[] = [];
  for (let i = 0; i < (o.appliances ?? 2); i++) {
    const name = String.fromCharCode(65 + i);
    const adir = join(dir, name);
    const init = initAppliance({ dir: adir, auditors: [join(dir, 'auditor.pub')] });
    idp.writeJwks(join(adir, 'keys', 'idp-jwks.json'));
    staff.writeJwks(join(adir, 'keys', 'staff-jwks.json'));
    writeFileSync(join(adir, 'secrets', 'payments.password'), TARGET_PASSWORD + '\n', { mode: 0o600 });
    writeFileSync(join(adir, 'secrets', 'fleet.password'), shared.password + '\n', { mode: 0o600 });
    registerTestSecret(TARGET_PASSWORD);
    if (o.metricsToken) writeFileSync(join(adir, 'secrets', 'metrics.token'), o.metricsToken + '\n', { mode: 0o600 });
    const proxy = o.proxied?.includes(i) ? await startTcpProxy(shared.port) : undefined;
    const base = readFileSync(init.configPath, 'utf8').split('\nlisteners:')[0]!;
    writeFileSync(
      init.configPath,
      `${base.trimEnd()}
listeners:
  postgres:
    address: 127.0.0.1:0
    tls: { cert: tls/server.crt, key: tls/server.key }
  admin:
    address: 127.0.0.1:0
    tls: { cert: tls/server.crt, key: tls/server.key }
${o.metricsToken ? '    metrics: { tokenFile: secrets/metrics.token }\n' : ''}${
  o.shareState === false
    ? ''
    : `sharedState:
  postgres:
    url: postgres://gw@127.0.0.1:${proxy?.port ?? shared.port}/vigil_fleet
    passwordFile: secrets/fleet.password
    timeoutMs: 1500
    pingIntervalMs: 500
${o.witnessIntervalSeconds ? `  witness: { intervalSeconds: ${o.witnessIntervalSeconds} }\n` : ''}`
}identityProviders:
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
    port: ${target.port}
    database: payments
    user: svc_reporting
    credential: { file: secrets/payments.password }
${o.policies}
${o.extraConfig ?? ''}`,
    );
    let child: ChildProcess | undefined;
    let log = '';
    const node: FleetNode = {
      name,
      applianceId: init.applianceId,
      dir: adir,
      configPath: init.configPath,
      trust: parseTrustFile(readFileSync(init.trustPath, 'utf8')),
      adminCa: join(adir, 'tls', 'server.crt'),
      pgPort: 0,
      adminUrl: '',
      proxy,
      logs: () => log,
      said: (msg) => log.split(msg).length - 1,
      running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
      start: () =>
        new Promise((resolve, reject) => {
          const c = spawn(process.execPath, [join(ROOT, 'bin', 'vigil.mjs'), 'serve', '--config', init.configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIGIL_LOG_LEVEL: 'debug' } });
          child = c;
          children.add(c);
          let out = '';
          // Also into the run's log folder: the final scan checks these lines for secrets and clear PANs.
          const scanned = testLogPath(`fleet-${name}`);
          c.stderr!.on('data', (d) => {
            log += d;
            appendFileSync(scanned, d);
          });
          c.stdout!.on('data', (d) => {
            out += d;
            const m = /PostgreSQL on [\d.]+:(\d+), admin API on (https:\/\/[\d.]+:\d+)/.exec(out);
            if (m) {
              node.pgPort = Number(m[1]);
              node.adminUrl = m[2]!;
              resolve();
            }
          });
          c.once('exit', (code) => {
            children.delete(c);
            reject(new Error(`vigil serve (${name}) exited (${code}): ${out}\n${log.slice(-3000)}`));
          });
        }),
      kill: (signal = 'SIGTERM') =>
        new Promise((resolve) => {
          if (!child || !node.running()) return resolve();
          child.once('exit', () => resolve());
          child.kill(signal);
        }),
    };
    nodes.push(node);
  }
  await Promise.all(nodes.map((n) => n.start()));
  const sharedOpts = () => ['-o', `-p ${shared.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${shared.dir}`];
  return {
    target,
    shared,
    nodes,
    dir,
    auditor: parseAuditorSecretKey(key.secretFile).unlock(),
    token: async (t = {}) => scanFor(await idp.mintGithubActions({ repository: t.repository ?? 'acme/payments', audience: AUDIENCE })),
    staffToken: async (subject, groups) => scanFor(await staff.mint({ sub: subject, aud: 'vigil-admin', groups })),
    sharedSql: (sql) => shared.psql(sql, { database: 'vigil_fleet' }),
    stopShared: () => asPostgres([join(PGBIN, 'pg_ctl'), '-D', shared.dataDir, '-m', 'fast', '-w', 'stop']),
    startShared: () => asPostgres([join(PGBIN, 'pg_ctl'), '-D', shared.dataDir, '-l', join(shared.dir, 'server.log'), '-w', '-t', '60', ...sharedOpts(), 'start']),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
      for (const c of children) c.kill('SIGKILL');
      for (const n of nodes) await n.proxy?.close();
      await target.stop();
      await shared.stop();
    },
  };
}

/** One admin API call (JSON in, JSON out) against an appliance of the fleet. */
export function admin(node: FleetNode, method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${node.adminUrl}${path}`, { method, ca: readFileSync(node.adminCa), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: t ? JSON.parse(t) : {} }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
