/**
 * A throwaway PostgreSQL 15 cluster for tests: initdb into a fresh temporary directory owned by the
 * postgres user when we are root (initdb refuses root; runuser does the rest), start on a free loopback
 * port, stop and delete on stop() — or at process exit, if a test forgot. Optional TLS (a self-signed
 * certificate made with openssl) and extra users per authentication method.
 *
 *   const pg = await startPostgres({ tls: true, auth: 'md5' });
 *   afterAll(() => pg.stop());
 */
import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const PGBIN = '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

export type PgAuthMethod = 'scram-sha-256' | 'md5' | 'password' | 'trust';

export interface PgUser {
  name: string;
  password: string;
  /** The pg_hba method for this user over TCP; md5 users also get an md5-hashed stored password. */
  auth: PgAuthMethod;
}

export interface StartPostgresOptions {
  /** Password of the superuser `gw` (SCRAM-hashed). */
  password?: string;
  /** 'md5' adds the user `gw_md5` whose password is stored md5-hashed and checked with md5. */
  auth?: 'scram-sha-256' | 'md5';
  /** ssl=on with a self-signed certificate for 127.0.0.1 (clients may still connect in plaintext). */
  tls?: boolean;
  extraUsers?: PgUser[];
  /** postgresql.conf settings. */
  conf?: Record<string, string>;
}

export interface PostgresServer {
  host: '127.0.0.1';
  port: number;
  user: 'gw';
  password: string;
  /** The temporary directory holding everything (deleted by stop). */
  dir: string;
  dataDir: string;
  /** Extra users, including `gw_md5` when auth: 'md5'. */
  users: PgUser[];
  md5User: PgUser | undefined;
  /** PEM of the server certificate, when tls. */
  certificate: string | undefined;
  /** Runs SQL through the real psql client over TCP (as gw unless told); returns its unaligned output. */
  psql(sql: string, options?: { user?: string; password?: string; database?: string; input?: string; sslmode?: string }): string;
  /** The server log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export function postgresAvailable(): boolean {
  return existsSync(join(PGBIN, 'initdb')) && existsSync(join(PGBIN, 'pg_ctl'));
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  if (!postgresAvailable()) throw new Error(`PostgreSQL 15 is not installed in ${PGBIN}: run scripts/ensure-system-packages.sh`);
  const password = options.password ?? 'gw-test-password';
  const users = [...(options.extraUsers ?? [])];
  if (options.auth === 'md5') users.push({ name: 'gw_md5', password: `${password}-md5`, auth: 'md5' });
  // initdb refuses to run as root: as root (CI) the cluster belongs to the postgres user, otherwise to us.
  const owner = process.getuid?.() === 0 ? postgresOwner() : undefined;
  const own = (path: string) => owner && chownSync(path, owner.uid, owner.gid);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-pg-'));
  own(dir);
  const dataDir = join(dir, 'data');
  const asPostgres = (args: string[]) =>
    owner ? run('runuser', ['-u', 'postgres', '--', ...args], { cwd: dir, timeout: 120_000 }) : run(args[0]!, args.slice(1), { cwd: dir, timeout: 120_000 });
  let started = false;
  let exitHook: (() => void) | undefined;

  const stopNow = async (): Promise<void> => {
    if (started) {
      started = false;
      await asPostgres([join(PGBIN, 'pg_ctl'), '-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    }
    if (exitHook) process.off('exit', exitHook);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const pwFile = join(dir, 'pw');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    own(pwFile);
    await asPostgres([join(PGBIN, 'initdb'), '-D', dataDir, '-U', 'gw', `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);

    const conf: Record<string, string> = { ...options.conf };
    let certificate: string | undefined;
    if (options.tls) {
      certificate = await makeCertificate(dir, own);
      Object.assign(conf, { ssl: 'on', ssl_cert_file: join(dir, 'server.crt'), ssl_key_file: join(dir, 'server.key') });
    }
    const confLines = Object.entries(conf).map(([k, v]) => `${k} = '${v.replaceAll("'", "''")}'`);
    if (confLines.length > 0) appendFileSync(join(dataDir, 'postgresql.conf'), `\n${confLines.join('\n')}\n`);
    // Per-user lines first: pg_hba.conf is matched top-down and initdb's lines accept everyone with SCRAM.
    const hbaPath = join(dataDir, 'pg_hba.conf');
    const hba = users.map((u) => `host all ${u.name} 127.0.0.1/32 ${u.auth}`).join('\n');
    writeFileSync(hbaPath, `${hba}\n${readFileSync(hbaPath, 'utf8')}`);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await asPostgres([
          join(PGBIN, 'pg_ctl'), '-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '60',
          '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir}`, 'start',
        ]);
        break;
      } catch (e) {
        // Another process may have taken the port between our probe and the bind: try another one.
        if (attempt >= 3 || !/could not bind|already in use/i.test(readLog(dir))) throw e;
      }
    }
    started = true;
    exitHook = () => {
      const stop = [join(PGBIN, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', 'stop'];
      if (owner) spawnSync('runuser', ['-u', 'postgres', '--', ...stop], { cwd: dir });
      else spawnSync(stop[0]!, stop.slice(1), { cwd: dir });
      rmSync(dir, { recursive: true, force: true });
    };
    process.once('exit', exitHook);

    const psql: PostgresServer['psql'] = (sql, o = {}) => {
      const r = spawnSync(
        join(PGBIN, 'psql'),
        ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', o.user ?? 'gw', '-d', o.database ?? 'postgres', '-c', sql],
        {
          encoding: 'utf8',
          input: o.input ?? '',
          timeout: 60_000,
          env: { ...process.env, PGPASSWORD: o.password ?? password, PGSSLMODE: o.sslmode ?? 'prefer', PGCONNECT_TIMEOUT: '10' },
        },
      );
      if (r.status !== 0) throw new Error(`psql failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`);
      return r.stdout;
    };
    for (const u of users) {
      const encryption = u.auth === 'md5' ? 'md5' : 'scram-sha-256';
      psql(`SET password_encryption = '${encryption}'; CREATE ROLE ${quoteIdent(u.name)} LOGIN PASSWORD ${quoteLiteral(u.password)}`);
    }

    return {
      host: '127.0.0.1',
      port,
      user: 'gw',
      password,
      dir,
      dataDir,
      users,
      md5User: users.find((u) => u.name === 'gw_md5'),
      certificate,
      psql,
      log: () => readLog(dir),
      stop: stopNow,
    };
  } catch (e) {
    const log = readLog(dir);
    await stopNow();
    throw new Error(`could not start PostgreSQL: ${e instanceof Error ? e.message : String(e)}${log ? `\n--- server log ---\n${log}` : ''}`, { cause: e });
  }
}

function postgresOwner(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('there is no postgres system user (install the postgresql package)');
  return { uid, gid };
}

async function makeCertificate(dir: string, own: (path: string) => unknown): Promise<string> {
  const crt = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', crt,
  ], { timeout: 60_000 });
  for (const f of [crt, key]) own(f);
  chmodSync(key, 0o600); // PostgreSQL refuses a private key readable by others
  return readFileSync(crt, 'utf8');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8');
  } catch {
    return '';
  }
}

const quoteIdent = (s: string): string => `"${s.replaceAll('"', '""')}"`;
const quoteLiteral = (s: string): string => `'${s.replaceAll("'", "''")}'`;
