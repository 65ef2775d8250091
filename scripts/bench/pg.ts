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
 * The gateway runs as shipped: the esbuild bundle (scripts/build.sh), built into a temp folder first.
 *
 * Usage: node bin/run-ts.mjs scripts/bench/pg.ts [--seconds 15] [--scale 10] [--idle 1000]
 * Prints a table, then one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, createServer, type AddressInfo } from 'node:net';
import { initCrypto } from '../../shared/crypto/backend.ts';
import { PGBIN, startPostgres } from '../../test/helpers/postgres.ts';
import { fdatasyncP50Ms, idleSessions, pgbench as pgbenchFor, startPgbouncer, startVigil, withCpu, type PgbenchResult } from './pg-harness.ts';

await initCrypto();
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '15' }, scale: { type: 'string', default: '10' }, idle: { type: 'string', default: '1000' } } });
const SECONDS = Number(values.seconds);
const IDLE = Number(values.idle);
const pgbench = (port: number, password: string, args: string[], sslmode?: string) => pgbenchFor(SECONDS, port, password, args, sslmode);

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

