/**
 * What the PostgreSQL benchmarks share (scripts/bench/pg.ts, pg-profile.ts): pgbench runs, PgBouncer, a
 * throwaway Vigil gateway in its own process, and /proc readings of a process's CPU time and memory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createAuditorKey } from '../../shared/evidence/auditor-key.ts';
import { TestIdentityProvider } from '../../appliance/identity/test-identity-provider.ts';
import { initAppliance } from '../../appliance/init.ts';
import { PGBIN, type PostgresServer } from '../../test/helpers/postgres.ts';

const ROOT = join(import.meta.dirname, '..', '..');

let bundle: string | undefined;
/**
 * The gateway as users run it: the esbuild bundle (scripts/build.sh), built once per benchmark run into a temp
 * folder. From source (bin/vigil.mjs, through tsx) every closure also pays tsx's keepNames helper, a few µs
 * per statement that the shipped appliance does not pay; the profiler (pg-profile.ts) runs from source only to
 * name the files time goes to.
 */
export function vigilEntry(from: 'bundle' | 'source'): string {
  if (from === 'source') return join(ROOT, 'bin', 'vigil.mjs');
  if (!bundle) {
    const out = mkdtempSync(join(tmpdir(), 'vigil-bench-dist-'));
    const r = spawnSync('sh', [join(ROOT, 'scripts', 'build.sh'), '--out', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`scripts/build.sh failed: ${r.stderr}`);
    bundle = join(out, 'vigil.js');
  }
  return bundle;
}

export interface PgbenchResult {
  tps: number;
  latencyMs: number;
  failed: number;
  /** Transactions processed (one SELECT each with -S). */
  transactions: number;
}

export function pgbench(seconds: number, port: number, password: string, args: string[], sslmode = 'disable'): Promise<PgbenchResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(join(PGBIN, 'pgbench'), ['-n', '-S', '-T', String(seconds), '-h', '127.0.0.1', '-p', String(port), '-U', 'bench', ...args, 'payments'], {
      env: { ...process.env, PGPASSWORD: password, PGSSLMODE: sslmode },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => {
      const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
      const lat = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
      const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
      const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
      if (code !== 0 || !tps) reject(new Error(`pgbench failed (${code}): ${out}`));
      else resolve({ tps, latencyMs: lat, failed, transactions });
    });
  });
}

export async function startPgbouncer(server: PostgresServer): Promise<{ port: number; pid: number; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-pgb-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(join(dir, 'userlist.txt'), `"bench" "${server.password}"\n`);
  writeFileSync(
    join(dir, 'pgb.ini'),
    `[databases]\npayments = host=127.0.0.1 port=${server.port} dbname=payments\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nauth_type = scram-sha-256\nauth_file = ${join(dir, 'userlist.txt')}\npool_mode = session\nmax_client_conn = 2000\ndefault_pool_size = 50\nunix_socket_dir =\nlogfile = ${join(dir, 'pgb.log')}\npidfile = ${join(dir, 'pgb.pid')}\n`,
  );
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim();
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim();
    for (const f of ['', 'userlist.txt', 'pgb.ini']) chownSync(join(dir, f), Number(pw), Number(gid));
  }
  const cmd = asPostgres ? ['runuser', '-u', 'postgres', '--', 'pgbouncer', '-d', join(dir, 'pgb.ini')] : ['pgbouncer', '-d', join(dir, 'pgb.ini')];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pgbouncer did not start: ${r.stderr}`);
  await new Promise((res) => setTimeout(res, 500));
  const pid = Number(readFileSync(join(dir, 'pgb.pid'), 'utf8'));
  return { port, pid, stop: () => process.kill(pid, 'SIGTERM') };
}

export interface RunningGateway {
  port: number;
  pid: number;
  child: ChildProcess;
  /** The inspector's WebSocket URL ('' unless started with `inspect`). */
  inspector: () => string;
  stop: () => Promise<void>;
}

export async function startVigil(server: PostgresServer, durability: 'fsync' | 'write', o: { inspect?: boolean; nodeArgs?: string[]; from?: 'bundle' | 'source' } = {}): Promise<{ gw: RunningGateway; token: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-gw-'));
  const key = createAuditorKey();
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  const init = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')] });
  const idp = await TestIdentityProvider.create({ issuer: 'https://bench-idp.invalid' });
  idp.writeJwks(join(dir, 'appliance', 'keys', 'jwks.json'));
  writeFileSync(join(dir, 'appliance', 'secrets', 'pw'), server.password + '\n', { mode: 0o600 });
  const base = readFileSync(init.configPath, 'utf8').split('\nlisteners:')[0]!.replace('durability: fsync', `durability: ${durability}`);
  writeFileSync(
    init.configPath,
    `${base}
listeners:
  postgres:
    address: 127.0.0.1:0
    tls: { cert: tls/server.crt, key: tls/server.key }
    allowTokenWithoutTlsOnLoopback: true
    maxConnections: 5000
identityProviders:
  - { name: bench, issuer: 'https://bench-idp.invalid', audiences: [vigil-bench], jwks: { file: keys/jwks.json }, algorithms: [ES256], profile: github-actions }
targets:
  - { name: payments, protocol: postgres, host: 127.0.0.1, port: ${server.port}, database: payments, user: bench, credential: { file: secrets/pw } }
policies:
  - name: bench
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, transaction: allow, session: allow, default: block }
`,
  );
  const token = await idp.mintGithubActions({ repository: 'acme/bench', audience: 'vigil-bench', lifetimeSeconds: 3600 });
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...(o.inspect ? ['--inspect=127.0.0.1:0'] : []), vigilEntry(o.from ?? 'bundle'), 'serve', '--config', init.configPath], {
    stdio: ['ignore', 'pipe', o.inspect ? 'pipe' : 'ignore'],
    env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' },
  });
  let inspector = '';
  child.stderr?.on('data', (d: Buffer) => {
    inspector ||= /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(String(d))?.[0] ?? '';
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /PostgreSQL on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c) => reject(new Error(`vigil serve exited with ${c}: ${out}`)));
  });
  return {
    token,
    gw: {
      port,
      pid: child.pid!,
      child,
      inspector: () => inspector,
      stop: () =>
        new Promise((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    },
  };
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

/**
 * A full garbage collection inside the gateway, through its inspector (HeapProfiler.collectGarbage): the
 * RSS then holds what live sessions keep, not garbage the last burst left. Node 20 has WebSocket only
 * behind a flag, so a short child process speaks to the inspector.
 */
export function collectGarbage(gw: RunningGateway): void {
  const url = gw.inspector();
  if (!url) throw new Error('the gateway was not started with its inspector');
  const script = `const ws = new WebSocket(process.argv[1]);
ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
ws.onmessage = (m) => { if (JSON.parse(m.data).id === 1) { ws.close(); process.exit(0); } };
ws.onerror = (e) => { console.error(String(e.message ?? e)); process.exit(1); };
setTimeout(() => process.exit(2), 20000);`;
  const r = spawnSync(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', script, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`garbage collection through the inspector failed (${r.status}): ${r.stderr}`);
}

/** RSS growth per idle session of `gw` (a fresh gateway started with its inspector), collected before and after. */
export async function idleSessions(gw: RunningGateway, token: string, n: number): Promise<number> {
  // Warm up allocator and code paths with a few sessions, then measure the growth for n more.
  const warm = await openClients(gw.port, token, 20);
  await new Promise((r) => setTimeout(r, 500));
  collectGarbage(gw);
  const before = rssKiB(gw.pid);
  const clients = await openClients(gw.port, token, n);
  await new Promise((r) => setTimeout(r, 2000));
  collectGarbage(gw);
  const after = rssKiB(gw.pid);
  await Promise.all([...clients, ...warm].map((c) => c.end().catch(() => undefined)));
  return (after - before) / n;
}

/** User + system CPU time of a process so far, in µs (/proc/PID/stat fields 14 and 15, in clock ticks). */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLK_TCK;
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** pgbench with the CPU time `pid` spent meanwhile, per transaction (one statement each with -S). */
export async function withCpu(pid: number, p: () => Promise<PgbenchResult>): Promise<{ r: PgbenchResult; cpuUsPerStmt: number }> {
  const before = cpuMicros(pid);
  const r = await p();
  return { r, cpuUsPerStmt: (cpuMicros(pid) - before) / r.transactions };
}

/**
 * fdatasync latency on the filesystem the gateway's journal is on (the bench's temp folder): 4 KiB appended
 * and made durable, 300 times; the median, in ms.
 */
export function fdatasyncP50Ms(): number {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-fsync-'));
  const fd = openSync(join(dir, 'f'), 'w');
  const block = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < 300; i++) {
      writeSync(fd, block);
      const t = process.hrtime.bigint();
      fdatasyncSync(fd);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function openClients(port: number, token: string, n: number): Promise<pg.Client[]> {
  const out: pg.Client[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => new pg.Client({ host: '127.0.0.1', port, user: 'bench', database: 'payments', password: token }));
    await Promise.all(batch.map((c) => c.connect()));
    out.push(...batch);
  }
  return out;
}
