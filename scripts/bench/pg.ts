/**
 * PostgreSQL gateway benchmark, one run, everything measured side by side on this machine:
 *
 *   pgbench -S -c 8 -j 2 -T N   direct · through PgBouncer (session mode) · through Vigil (policy, masking and
 *                               recording on; durability fsync and write; client TLS off, as for the others,
 *                               and on)
 *   pgbench -S -c 1             latency added by Vigil
 *   pgbench -S -C               new connection per transaction (token check + target login each time)
 *   1,000 idle sessions         RSS growth per session of a fresh gateway, garbage collected (through its
 *                               inspector) before and after
 *   CPU per statement           the gateway's and PgBouncer's user+system time from /proc during their -c 8 runs
 *   fdatasync                   latency on the gateway's data filesystem, and the group-commit bound it sets
 *
 * Usage: node bin/run-ts.mjs scripts/bench/pg.ts [--seconds 15] [--scale 10] [--idle 1000]
 * Prints a table, then one JSON line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { initCrypto } from '../../shared/crypto/backend.ts';
import { createAuditorKey } from '../../shared/evidence/auditor-key.ts';
import { TestIdentityProvider } from '../../appliance/identity/test-identity-provider.ts';
import { initAppliance } from '../../appliance/init.ts';
import { PGBIN, startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts';

await initCrypto();
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '15' }, scale: { type: 'string', default: '10' }, idle: { type: 'string', default: '1000' } } });
const SECONDS = Number(values.seconds);
const IDLE = Number(values.idle);
const ROOT = join(import.meta.dirname, '..', '..');

interface PgbenchResult {
  tps: number;
  latencyMs: number;
  failed: number;
  /** Transactions processed (one SELECT each with -S). */
  transactions: number;
}

function pgbench(port: number, password: string, args: string[], sslmode = 'disable'): Promise<PgbenchResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(join(PGBIN, 'pgbench'), ['-n', '-S', '-T', String(SECONDS), '-h', '127.0.0.1', '-p', String(port), '-U', 'bench', ...args, 'payments'], {
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

async function startPgbouncer(server: PostgresServer): Promise<{ port: number; pid: number; stop: () => void }> {
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

interface RunningGateway {
  port: number;
  pid: number;
  child: ChildProcess;
  /** The inspector's WebSocket URL ('' unless started with `inspect`). */
  inspector: () => string;
  stop: () => Promise<void>;
}

async function startVigil(server: PostgresServer, durability: 'fsync' | 'write', o: { inspect?: boolean } = {}): Promise<{ gw: RunningGateway; token: string }> {
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
  const child = spawn(process.execPath, [...(o.inspect ? ['--inspect=127.0.0.1:0'] : []), join(ROOT, 'bin', 'vigil.mjs'), 'serve', '--config', init.configPath], {
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

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

/**
 * A full garbage collection inside the gateway, through its inspector (HeapProfiler.collectGarbage): the
 * RSS then holds what live sessions keep, not garbage the last burst left. Node 20 has WebSocket only
 * behind a flag, so a short child process speaks to the inspector.
 */
function collectGarbage(gw: RunningGateway): void {
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
async function idleSessions(gw: RunningGateway, token: string, n: number): Promise<number> {
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
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLK_TCK;
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** pgbench with the CPU time `pid` spent meanwhile, per transaction (one statement each with -S). */
async function withCpu(pid: number, p: () => Promise<PgbenchResult>): Promise<{ r: PgbenchResult; cpuUsPerStmt: number }> {
  const before = cpuMicros(pid);
  const r = await p();
  return { r, cpuUsPerStmt: (cpuMicros(pid) - before) / r.transactions };
}

/**
 * fdatasync latency on the filesystem the gateway's journal is on (the bench's temp folder): 4 KiB appended
 * and made durable, 300 times; the median, in ms.
 */
function fdatasyncP50Ms(): number {
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

async function openClients(port: number, token: string, n: number): Promise<pg.Client[]> {
  const out: pg.Client[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => new pg.Client({ host: '127.0.0.1', port, user: 'bench', database: 'payments', password: token }));
    await Promise.all(batch.map((c) => c.connect()));
    out.push(...batch);
  }
  return out;
}

const server = await startPostgres({ conf: { max_connections: String(IDLE + 100), shared_buffers: '128MB' } });
try {
  server.psql('CREATE DATABASE payments');
  server.psql(`CREATE ROLE bench LOGIN SUPERUSER PASSWORD '${server.password}'`);
  const init = spawnSync(join(PGBIN, 'pgbench'), ['-i', '-q', '-s', values.scale!, '-h', '127.0.0.1', '-p', String(server.port), '-U', 'bench', 'payments'], { env: { ...process.env, PGPASSWORD: server.password }, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(init.stderr);
  const rows: [string, PgbenchResult][] = [];
  const run = async (label: string, p: Promise<PgbenchResult>) => {
    const r = await p;
    rows.push([label, r]);
    console.log(`${label.padEnd(44)} ${r.tps.toFixed(0).padStart(8)} tps  ${r.latencyMs.toFixed(3).padStart(7)} ms  failed ${r.failed}`);
    return r;
  };
  console.log(`pgbench -S, ${SECONDS} s each, scale ${values.scale}, on ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`);
  const direct = await run('direct  -c 8 -j 2', pgbench(server.port, server.password, ['-c', '8', '-j', '2']));
  // The floor of any proxy written in Node on this machine: bytes piped both ways, nothing else.
  const pipe = createServer({ noDelay: true }, (c) => {
    const u = connect({ host: '127.0.0.1', port: server.port, noDelay: true });
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => pipe.listen(0, '127.0.0.1', () => r()));
  const viaPipe = await run('plain Node socket pipe  -c 8 -j 2', pgbench((pipe.address() as AddressInfo).port, server.password, ['-c', '8', '-j', '2']));
  const pipeC1 = await run('plain Node socket pipe  -c 1', pgbench((pipe.address() as AddressInfo).port, server.password, ['-c', '1']));
  pipe.close();
  const bouncer = await startPgbouncer(server);
  const bouncerRun = await withCpu(bouncer.pid, () => run('pgbouncer (session)  -c 8 -j 2', pgbench(bouncer.port, server.password, ['-c', '8', '-j', '2'])));
  const viaBouncer = bouncerRun.r;
  bouncer.stop();
  const fsyncMs = fdatasyncP50Ms();
  console.log(`fdatasync p50 on ${tmpdir()}: ${fsyncMs.toFixed(3)} ms`);
  const fsync = await startVigil(server, 'fsync');
  const vigilRun = await withCpu(fsync.gw.pid, () => run('vigil fsync  -c 8 -j 2', pgbench(fsync.gw.port, fsync.token, ['-c', '8', '-j', '2'])));
  const vigil = vigilRun.r;
  const vigilTls = await run('vigil fsync, client TLS  -c 8 -j 2', pgbench(fsync.gw.port, fsync.token, ['-c', '8', '-j', '2'], 'require'));
  const directC1 = await run('direct  -c 1', pgbench(server.port, server.password, ['-c', '1']));
  const vigilC1 = await run('vigil fsync  -c 1', pgbench(fsync.gw.port, fsync.token, ['-c', '1']));
  const directConnect = await run('direct  -C -c 8 -j 2', pgbench(server.port, server.password, ['-C', '-c', '8', '-j', '2']));
  const vigilConnect = await run('vigil fsync  -C -c 8 -j 2', pgbench(fsync.gw.port, fsync.token, ['-C', '-c', '8', '-j', '2']));
  await fsync.gw.stop();
  const write = await startVigil(server, 'write');
  const writeRun = await withCpu(write.gw.pid, () => run('vigil write  -c 8 -j 2', pgbench(write.gw.port, write.token, ['-c', '8', '-j', '2'])));
  const vigilWrite = writeRun.r;
  const vigilWriteC1 = await run('vigil write  -c 1', pgbench(write.gw.port, write.token, ['-c', '1']));
  await write.gw.stop();
  // Idle memory on a fresh gateway (not one that just ran a load), collected before and after.
  let idleKiB = NaN;
  if (IDLE > 0) {
    const idle = await startVigil(server, 'fsync', { inspect: true });
    idleKiB = await idleSessions(idle.gw, idle.token, IDLE);
    await idle.gw.stop();
  }
  console.log(`vigil idle sessions: ${IDLE}, RSS growth ${idleKiB.toFixed(1)} KiB per session (fresh gateway, collected before and after)`);
  // The group-commit bound: each of the 8 clients' statements costs what it costs in write mode (8 / write
  // TPS, per client) plus at least one fdatasync it waits for; a perfect group commit makes every waiting
  // statement durable with that one call. bound = 8 / (8 / write_tps + fdatasync_p50).
  const fsyncBound = 8 / (8 / vigilWrite.tps + fsyncMs / 1000);

  const r = (x: number) => Number(x.toFixed(3));
  console.log(
    `vigil/direct ${r(vigil.tps / direct.tps)} (write mode ${r(vigilWrite.tps / direct.tps)}), vigil/pgbouncer ${r(vigil.tps / viaBouncer.tps)}, ` +
      `added latency at -c 1: ${r(vigilC1.latencyMs - directC1.latencyMs)} ms (write mode ${r(vigilWriteC1.latencyMs - directC1.latencyMs)} ms)`,
  );
  console.log(
    `write mode vs pgbouncer ${r(vigilWrite.tps / viaBouncer.tps)}; fsync mode ${r(vigil.tps)} tps vs the group-commit bound ${r(fsyncBound)} tps = ${r(vigil.tps / fsyncBound)} ` +
      `(bound = 8 / (8 / write-mode tps + fdatasync p50 ${r(fsyncMs)} ms)); CPU per statement: vigil ${r(vigilRun.cpuUsPerStmt)} µs (write mode ${r(writeRun.cpuUsPerStmt)} µs), pgbouncer ${r(bouncerRun.cpuUsPerStmt)} µs; ` +
      `connects: ${r(vigilConnect.tps / directConnect.tps)}× direct`,
  );
  console.log(
    JSON.stringify({
      bench: 'pg',
      seconds: SECONDS,
      direct_tps: r(direct.tps),
      pgbouncer_tps: r(viaBouncer.tps),
      vigil_tps: r(vigil.tps),
      ratio_vs_direct: r(vigil.tps / direct.tps),
      ratio_vs_pgbouncer: r(vigil.tps / viaBouncer.tps),
      vigil_tls_tps: r(vigilTls.tps),
      node_pipe_tps: r(viaPipe.tps),
      node_pipe_added_latency_ms_c1: r(pipeC1.latencyMs - directC1.latencyMs),
      direct_latency_ms_c1: r(directC1.latencyMs),
      vigil_latency_ms_c1: r(vigilC1.latencyMs),
      added_latency_ms_c1: r(vigilC1.latencyMs - directC1.latencyMs),
      direct_connect_tps: r(directConnect.tps),
      vigil_connect_tps: r(vigilConnect.tps),
      idle_session_kib: r(idleKiB),
      durability: 'fsync',
      vigil_write_tps: r(vigilWrite.tps),
      ratio_vs_direct_write: r(vigilWrite.tps / direct.tps),
      added_latency_ms_c1_write: r(vigilWriteC1.latencyMs - directC1.latencyMs),
      ratio_vs_pgbouncer_write: r(vigilWrite.tps / viaBouncer.tps),
      fdatasync_p50_ms: r(fsyncMs),
      added_latency_ms_c1_fsync_over_fdatasync: r(vigilC1.latencyMs - directC1.latencyMs - fsyncMs),
      fsync_bound_tps: r(fsyncBound),
      fsync_bound_ratio: r(vigil.tps / fsyncBound),
      cpu_us_per_stmt: r(vigilRun.cpuUsPerStmt),
      cpu_us_per_stmt_write: r(writeRun.cpuUsPerStmt),
      pgbouncer_cpu_us_per_stmt: r(bouncerRun.cpuUsPerStmt),
      connect_ratio_vs_direct: r(vigilConnect.tps / directConnect.tps),
    }),
  );
} finally {
  await server.stop();
}
