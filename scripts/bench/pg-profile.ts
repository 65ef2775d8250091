/**
 * Where a statement's time goes in the PostgreSQL gateway: pgbench `-S -c 8` through a Vigil gateway started
 * with `--cpu-prof`, then the profile's samples attributed to stages and divided by the statements run.
 *
 * Each sample is charged to the nearest frame of Vigil's own code (appliance/ or shared/) on its stack, so a
 * stage includes the Node internals and libraries it calls (a socket write is charged to whoever wrote);
 * samples with no Vigil frame at all are the runtime's own work (reading sockets, timers, the event loop).
 * The gateway runs from source (through tsx, so that frames name their files; tsx's keepNames helper `__name`
 * is a cost the shipped bundle does not have). The profiler itself adds overhead: compare stages with each other, and the total with the gateway's CPU per
 * statement that `scripts/bench/pg` measures from /proc without a profiler.
 *
 * Usage: node bin/run-ts.mjs scripts/bench/pg-profile.ts [--seconds 15] [--durability write|fsync] [--keep DIR]
 * Prints the stage table and the 40 heaviest functions, then one JSON line.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { initCrypto } from '../../shared/crypto/backend.ts';
import { PGBIN, startPostgres } from '../../test/helpers/postgres.ts';
import { cpuMicros, pgbench, startVigil } from './pg-harness.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const ROOT = join(import.meta.dirname, '..', '..');

/** A stage, from the Vigil source file a sample is charged to (first match wins). */
const STAGES: [string, RegExp][] = [
  ['PAN detection and masking', /^shared\/pan\/|mask/],
  ['SQL analysis and classification', /^appliance\/sql\//],
  ['PostgreSQL provenance (where values come from)', /^appliance\/protocols\/postgres\/provenance\//],
  ['PostgreSQL wire codec and adapter', /^appliance\/protocols\/postgres\//],
  ['evidence: encryption', /^shared\/crypto\//],
  ['evidence: encode, journal, archive, hash chain', /^(appliance|shared)\/evidence\//],
  ['policy', /^appliance\/policy\//],
  ['pipeline (session, decisions, approvals gate)', /^appliance\/pipeline\//],
  ['identity', /^appliance\/identity\//],
  ['networking (listeners, TLS)', /^appliance\/net\//],
  ['telemetry (metrics, logs)', /^appliance\/(metrics\/|logger\.ts)/],
  ['transparency log', /^appliance\/log\//],
  ['appliance crypto (command HMAC, keys)', /^appliance\/crypto\//],
];

function stageOf(file: string): string {
  for (const [name, re] of STAGES) if (re.test(file)) return name;
  return `other Vigil code (${file.split('/').slice(0, 2).join('/')})`;
}

function vigilFile(url: string): string | undefined {
  if (!url) return undefined;
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const rel = relative(ROOT, path);
  if (rel.startsWith('..') || rel.includes('node_modules')) return undefined;
  return /^(appliance|shared)\//.test(rel) ? rel : undefined;
}

/** Samples between `from` and `to` (µs of the monotonic clock, which V8's profile timestamps use too). */
function attribute(p: CpuProfile, from: number, to: number): { stages: Map<string, number>; functions: Map<string, number>; totalUs: number; idleUs: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageCache = new Map<number, string>();
  const stageFor = (id: number): string => {
    const cached = stageCache.get(id);
    if (cached) return cached;
    let cur: number | undefined = id;
    let stage = '';
    while (cur !== undefined) {
      const f = vigilFile(byId.get(cur)!.callFrame.url);
      if (f) {
        stage = stageOf(f);
        break;
      }
      cur = parent.get(cur);
    }
    const name = byId.get(id)!.callFrame.functionName;
    stage ||= name === '(garbage collector)' ? 'garbage collection' : name === '(program)' ? 'runtime (native, no JS frame)' : 'runtime (sockets, timers, event loop, libraries)';
    stageCache.set(id, stage);
    return stage;
  };
  const stages = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (at < from || at > to) return;
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') {
      idleUs += dt;
      return;
    }
    totalUs += dt;
    const stage = stageFor(id);
    stages.set(stage, (stages.get(stage) ?? 0) + dt);
    const fn = `[${stage}] ${n.callFrame.functionName || '(anonymous)'} ${vigilFile(n.callFrame.url) ?? n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^node:/, 'node:')}:${n.callFrame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + dt);
  });
  return { stages, functions, totalUs, idleUs };
}

await initCrypto();
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '15' }, durability: { type: 'string', default: 'write' }, keep: { type: 'string' } } });
const SECONDS = Number(values.seconds);
const durability = values.durability === 'fsync' ? 'fsync' : 'write';
const profDir = values.keep ?? mkdtempSync(join(tmpdir(), 'vigil-pg-profile-'));
const server = await startPostgres({ conf: { shared_buffers: '128MB' } });
try {
  server.psql('CREATE DATABASE payments');
  server.psql(`CREATE ROLE bench LOGIN SUPERUSER PASSWORD '${server.password}'`);
  const init = spawnSync(join(PGBIN, 'pgbench'), ['-i', '-q', '-s', '10', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'bench', 'payments'], { env: { ...process.env, PGPASSWORD: server.password }, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(init.stderr);
  const vigil = await startVigil(server, durability, { from: 'source', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '200'] });
    // Start-up (module loading, JIT warm-up) is outside the window: only the samples taken while pgbench ran count.
  const cpuBefore = cpuMicros(vigil.gw.pid);
  const from = Number(process.hrtime.bigint() / 1000n);
  const r = await pgbench(SECONDS, vigil.gw.port, vigil.token, ['-c', '8', '-j', '2']);
  const to = Number(process.hrtime.bigint() / 1000n);
  const cpuUs = cpuMicros(vigil.gw.pid) - cpuBefore;
  await vigil.gw.stop();
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`the gateway wrote no CPU profile into ${profDir}`);
  const a = attribute(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile, from, to);
  const perStmt = (us: number) => us / r.transactions;
  const fmt = (x: number) => x.toFixed(1).padStart(7);
  console.log(`pgbench -S -c 8 through Vigil (durability ${durability}, --cpu-prof), ${SECONDS} s: ${r.tps.toFixed(0)} tps, ${r.transactions} statements`);
  console.log(`gateway CPU from /proc: ${perStmt(cpuUs).toFixed(1)} µs per statement (with the profiler on); profiled JS thread busy ${perStmt(a.totalUs).toFixed(1)} µs, idle ${perStmt(a.idleUs).toFixed(1)} µs per statement\n`);
  console.log('µs/stmt   share  stage');
  const sorted = [...a.stages.entries()].sort((x, y) => y[1] - x[1]);
  for (const [stage, us] of sorted) console.log(`${fmt(perStmt(us))}  ${((100 * us) / a.totalUs).toFixed(1).padStart(5)}%  ${stage}`);
  console.log('\nheaviest functions (self time, µs/stmt):');
  for (const [fn, us] of [...a.functions.entries()].sort((x, y) => y[1] - x[1]).slice(0, 40)) console.log(`${fmt(perStmt(us))}  ${fn}`);
  const r3 = (x: number) => Number(x.toFixed(3));
  console.log(
    JSON.stringify({
      bench: 'pg-profile',
      durability,
      seconds: SECONDS,
      tps: r3(r.tps),
      statements: r.transactions,
      cpu_us_per_stmt_profiled: r3(perStmt(cpuUs)),
      js_busy_us_per_stmt: r3(perStmt(a.totalUs)),
      stages_us_per_stmt: Object.fromEntries(sorted.map(([s, us]) => [s, r3(perStmt(us))])),
    }),
  );
} finally {
  await server.stop();
  if (!values.keep) rmSync(profDir, { recursive: true, force: true });
}
