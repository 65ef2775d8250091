/**
 * SSH gateway benchmark, one run, the same sshd for every figure, direct vs through Vigil (recording and
 * masking on, durability fsync as shipped, the target logged in to with a per-session certificate):
 *
 *   bulk      `ssh host 'head -c N /dev/zero' > /dev/null`             MiB/s, best of two; also through a bare
 *             ssh2 relay (ssh-bare-relay.ts: the same SSH stacks, no policy/masking/recording)
 *   scp       `scp host:FILE .` of an N MiB file of random bytes        MiB/s, best of two (SFTP mode, the default)
 *   scp -O    the same with the legacy scp protocol                     MiB/s, best of two
 *   echo      one byte written, the same byte read back, sequentially (an interactive channel running
 *             `cat` in raw mode): round-trip p50/p99
 *   connect   sequential certificate logins running `true` (a process per login, both sides)
 *   idle      RSS growth of the gateway process per idle interactive session (IDLE of them open at once)
 *
 * Usage: node bin/run-ts.mjs scripts/bench/ssh.ts [--mib 500] [--echo 1000] [--connects 30] [--idle 200]
 *        [--only bulk,scp,echo,connect,idle]   (a subset; figures not measured are null in the JSON;
 *                                               scp-sftp or scp-legacy for one scp mode)
 * Prints a table, then one JSON line. VIGIL_BENCH_PROFILE=DIR writes the gateway's CPU profile into DIR.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';
import { initCrypto } from '../../shared/crypto/backend.ts';
import { startSshd, SSH_USER, type SshdServer } from '../../test/helpers/sshd.ts';
import { makeKey, signCert } from '../../test/helpers/ssh-certs.ts';
import { newBenchAppliance } from './bench-appliance.ts';

await initCrypto();
const { values } = parseArgs({ options: { mib: { type: 'string', default: '500' }, echo: { type: 'string', default: '1000' }, connects: { type: 'string', default: '30' }, idle: { type: 'string', default: '200' }, only: { type: 'string' } } });
const ONLY = new Set((values.only ?? 'bulk,scp,echo,connect,idle').split(','));
const MIB = Number(values.mib);
const ECHOES = Number(values.echo);
const CONNECTS = Number(values.connects);
const IDLE = Number(values.idle);
const ROOT = join(import.meta.dirname, '..', '..');
/** VIGIL_BENCH_PROFILE=DIR: the gateway writes a V8 CPU profile there when it stops (open it in Chrome's DevTools). */
const PROFILE = process.env['VIGIL_BENCH_PROFILE'];

interface Endpoint {
  label: string;
  port: number;
  user: string;
  knownHosts: string;
  /** A plain key for the ssh2 clients of the echo and idle runs (ssh2 cannot present a certificate). */
  plainKey: string;
}

function sshArgs(e: Endpoint, key: string, extra: string[] = []): string[] {
  return [...extra, '-F', '/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${e.knownHosts}`, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key];
}

/** Runs a command to completion (stdout discarded); seconds taken, or an error with its stderr. */
function timed(cmd: string, args: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e9) : reject(new Error(`${cmd} exited ${code}: ${err.trim().slice(0, 300)}`))));
  });
}

async function best(n: number, f: () => Promise<number>): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < n; i++) b = Math.min(b, await f());
  return b;
}

function client(e: Endpoint): Promise<ssh2.Client> {
  const c = new ssh2.Client();
  return new Promise((resolve, reject) => {
    c.once('ready', () => {
      // A reset after the measurement (the gateway or sshd closing at the end) is not a failure of the run.
      c.on('error', () => undefined);
      resolve(c);
    });
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: e.port, username: e.user, privateKey: readFileSync(e.plainKey), hostVerifier: () => true, readyTimeout: 30_000 });
  });
}

/** An interactive channel (a pty running `cat` with echo off): what a keystroke's round trip goes through. */
function catChannel(c: ssh2.Client): Promise<ssh2.ClientChannel> {
  const open = (pty: boolean) =>
    new Promise<ssh2.ClientChannel>((resolve, reject) =>
      c.exec('stty raw -echo 2>/dev/null; exec cat', pty ? { pty: { term: 'xterm', cols: 80, rows: 24 } } : {}, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
  return open(true).catch(() => {
    // A gateway that refuses terminals: the same `cat`, without one (said in the table).
    noPty = true;
    return open(false);
  });
}
let noPty = false;

async function echoRoundTrips(e: Endpoint, n: number): Promise<{ p50: number; p99: number }> {
  const c = await client(e);
  const ch = await catChannel(c);
  // Let stty run before timing.
  await new Promise((r) => setTimeout(r, 300));
  ch.removeAllListeners('data');
  const times: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const byte = String.fromCharCode(97 + (i % 26));
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      const on = (d: Buffer) => {
        if (d.includes(byte)) {
          ch.off('data', on);
          resolve();
        }
      };
      ch.on('data', on);
      ch.write(byte);
    });
    if (i >= 20) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ch.close();
  c.end();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

/** CPU seconds (user + system, every thread) a process has used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

async function idleGrowth(e: Endpoint, pid: number, n: number): Promise<number> {
  const open = async (k: number) => {
    const out: ssh2.Client[] = [];
    // Eight at a time: the target sshd drops unauthenticated connections beyond MaxStartups (10).
    for (let i = 0; i < k; i += 8) {
      const batch = await Promise.all(Array.from({ length: Math.min(8, k - i) }, async () => {
        const c = await client(e);
        await catChannel(c);
        return c;
      }));
      out.push(...batch);
    }
    return out;
  };
  const warm = await open(20);
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssKiB(pid);
  const clients = await open(n);
  await new Promise((r) => setTimeout(r, 3000));
  const after = rssKiB(pid);
  for (const c of [...warm, ...clients]) c.end();
  return (after - before) / n;
}

async function startVigil(dir: string, sshd: SshdServer, userCaPub: string, botPub: string, env: Record<string, string> = {}): Promise<{ port: number; pid: number; knownHosts: string; stop(): Promise<void> }> {
  const app = newBenchAppliance(dir);
  const appDir = join(dir, 'appliance');
  // The target trusts Vigil's target CA: Vigil logs in with a certificate minted for each session.
  appendFileSync(sshd.trustedUserCaKeys, readFileSync(join(appDir, 'keys', 'ssh_target_ca_ed25519_key.pub'), 'utf8'));
  const base = readFileSync(app.configPath, 'utf8').split('\nlisteners:')[0]!;
  writeFileSync(
    app.configPath,
    `${base}
listeners:
  ssh:
    address: 127.0.0.1:0
    maxSessionChannels: 10
    authorizedKeys:
      - { subject: bench-bot, keys: ['${botPub}'] }
    userCertificateAuthorities:
      - { name: bench-ca, keys: ['${userCaPub}'] }
targets:
  - name: web
    protocol: ssh
    host: 127.0.0.1
    port: ${sshd.port}
    user: ${SSH_USER}
    credential: { certificate: {} }
    hostKeys: ['${sshd.hostKey}']
policies:
  - name: bench
    match: { subjects: [bench-bot] }
    targets: [web]
    classes: { default: allow }
`,
  );
  const child = spawn(process.execPath, [...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : []), join(ROOT, 'bin', 'vigil.mjs'), 'serve', '--config', app.configPath], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', ...env } });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /SSH on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c) => reject(new Error(`vigil serve exited with ${c}: ${out}`)));
  });
  const knownHosts = join(dir, 'known_hosts_vigil');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(join(appDir, 'keys', 'ssh_host_ed25519_key.pub'), 'utf8').trim()}\n`);
  return { port, pid: child.pid!, knownHosts, stop: () => new Promise((r) => (child.once('exit', () => r()), child.kill('SIGTERM'))) };
}

/** The baseline: two ssh2 stacks and a pipe (ssh-bare-relay.ts), in its own process like Vigil. */
let bareRelays = 0;
async function startBareRelay(dir: string, sshd: SshdServer, sftpMode?: 'pipe'): Promise<{ port: number; pid: number; knownHosts: string; stop(): void }> {
  // A key file per relay started (ssh-keygen will not overwrite one).
  const n = bareRelays++;
  const hostKey = join(dir, `bare_host${n}`);
  const pub = makeKey(hostKey, 'ed25519', 'bare relay');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'run-ts.mjs'), join(ROOT, 'scripts', 'bench', 'ssh-bare-relay.ts'), hostKey, String(sshd.port), SSH_USER, sshd.userKeyPath, ...(sftpMode ? [sftpMode] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /LISTEN (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (c) => reject(new Error(`the bare relay exited with ${c}`)));
  });
  const knownHosts = join(dir, `known_hosts_bare${n}`);
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${pub.trim()}\n`);
  return { port, pid: child.pid!, knownHosts, stop: () => child.kill('SIGTERM') };
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-ssh-'));
const sshd = await startSshd();
try {
  const ca = join(dir, 'user_ca');
  const userCaPub = makeKey(ca, 'ed25519', 'bench user CA');
  const key = join(dir, 'bot');
  makeKey(key, 'ed25519', 'bench-bot');
  // One certificate for both paths: sshd trusts the CA directly, Vigil trusts it as a user CA.
  signCert(ca, key, { keyId: 'bench-bot', principals: [SSH_USER], validity: '-1m:+2h' });
  const plainKey = join(dir, 'bot_plain');
  const botPub = makeKey(plainKey, 'ed25519', 'bench-bot plain');
  appendFileSync(sshd.trustedUserCaKeys, `${userCaPub}\n`);
  const vigil = await startVigil(dir, sshd, userCaPub, botPub);
  const directKnown = join(dir, 'known_hosts_direct');
  writeFileSync(directKnown, `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
  const direct: Endpoint = { label: 'direct', port: sshd.port, user: SSH_USER, knownHosts: directKnown, plainKey: sshd.userKeyPath };
  const via: Endpoint = { label: 'vigil', port: vigil.port, user: 'web', knownHosts: vigil.knownHosts, plainKey };
  /** Rounded; null for a figure not measured. */
  const r = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(3)) : (null as unknown as number));
  console.log(`SSH through Vigil vs direct, same sshd (OpenSSH ${spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim()}), on ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`);

  const bulk = async (e: Endpoint, k = key) => MIB / (await best(2, () => timed('ssh', [...sshArgs(e, k), '-p', String(e.port), `${e.user}@127.0.0.1`, `head -c ${MIB}M /dev/zero`])));
  /** A relay's own CPU per MiB relayed (ms, all its threads, over both bulk runs): robust to a busy machine, unlike MiB/s. */
  const cpuPerMiB = async (pid: number, run: () => Promise<number>) => {
    const c0 = cpuSeconds(pid);
    const rate = await run();
    return { rate, cpuMsPerMiB: ((cpuSeconds(pid) - c0) * 1000) / (2 * MIB) };
  };
  let directBulk = NaN;
  let vigilBulk = NaN;
  let bareBulk = NaN;
  let vigilCpu = { rate: NaN, cpuMsPerMiB: NaN };
  let bareCpu = { rate: NaN, cpuMsPerMiB: NaN };
  if (ONLY.has('bulk')) {
    directBulk = await bulk(direct);
    vigilCpu = await cpuPerMiB(vigil.pid, () => bulk(via));
    vigilBulk = vigilCpu.rate;
    const bare = await startBareRelay(dir, sshd);
    bareCpu = await cpuPerMiB(bare.pid, () => bulk({ label: 'bare relay', port: bare.port, user: SSH_USER, knownHosts: bare.knownHosts, plainKey }, plainKey));
    bareBulk = bareCpu.rate;
    bare.stop();
    console.log(`bulk ${MIB} MiB of /dev/zero      direct ${directBulk.toFixed(1)} MiB/s   bare ssh2 relay ${bareBulk.toFixed(1)} MiB/s (${r(bareBulk / directBulk)})   vigil ${vigilBulk.toFixed(1)} MiB/s   ratio ${r(vigilBulk / directBulk)}, ${r(vigilBulk / bareBulk)} of the bare relay`);
    console.log(`  relay CPU per MiB (all threads)  bare ssh2 relay ${bareCpu.cpuMsPerMiB.toFixed(2)} ms   vigil ${vigilCpu.cpuMsPerMiB.toFixed(2)} ms`);
  }

  // scp in SFTP mode (the default since OpenSSH 9.0) and with the legacy protocol (-O), each direct and via Vigil.
  const scpSsh2Framing = { rate: NaN, cpuMsPerMiB: NaN };
  const scpRuns = { sftp: { direct: NaN, vigil: NaN, bare: NaN, pipe: NaN, vigilCpu: NaN, bareCpu: NaN, pipeCpu: NaN, note: '' }, legacy: { direct: NaN, vigil: NaN, bare: NaN, pipe: NaN, vigilCpu: NaN, bareCpu: NaN, pipeCpu: NaN, note: '' } };
  if (ONLY.has('scp') || ONLY.has('scp-sftp') || ONLY.has('scp-legacy')) {
    const file = join(sshd.scratch, 'bulk.bin');
    spawnSync('sh', ['-c', `head -c ${MIB}M /dev/urandom > ${file}`]);
    const local = join(dir, 'downloaded.bin');
    const scp = async (e: Endpoint, extra: string[]) => MIB / (await best(2, () => timed('scp', [...sshArgs(e, key, ['-q', ...extra]), '-P', String(e.port), `${e.user}@127.0.0.1:${file}`, local])));
    const bare = await startBareRelay(dir, sshd);
    const bareEnd: Endpoint = { label: 'bare relay', port: bare.port, user: SSH_USER, knownHosts: bare.knownHosts, plainKey };
    // The SFTP ceiling on ssh2's SSH stacks: the subsystem's bytes piped, not parsed.
    const pipe = await startBareRelay(dir, sshd, 'pipe');
    const pipeEnd: Endpoint = { label: 'bare pipe', port: pipe.port, user: SSH_USER, knownHosts: pipe.knownHosts, plainKey };
    const ssh2Framing = { rate: NaN, cpuMsPerMiB: NaN };
    for (const [mode, extra] of [['sftp', []], ['legacy', ['-O']]] as const) {
      if (!ONLY.has('scp') && !ONLY.has(`scp-${mode}`)) continue;
      const m = scpRuns[mode];
      m.direct = await scp(direct, [...extra]);
      // A baseline that fails (the bare relay has failed scp -O now and then) must not cost Vigil's own figure.
      try {
        ({ rate: m.bare, cpuMsPerMiB: m.bareCpu } = await cpuPerMiB(bare.pid, () => scp(bareEnd, [...extra])));
      } catch (e) {
        console.log(`  bare ssh2 relay, scp${mode === 'legacy' ? ' -O' : ''}: not measured (${(e as Error).message})`);
      }
      try {
        if (mode === 'sftp') ({ rate: m.pipe, cpuMsPerMiB: m.pipeCpu } = await cpuPerMiB(pipe.pid, () => scp(pipeEnd, [...extra])));
        ({ rate: m.vigil, cpuMsPerMiB: m.vigilCpu } = await cpuPerMiB(vigil.pid, () => scp(via, [...extra])));
        if (mode === 'sftp') {
          // The same Vigil with ssh2's SFTP classes instead of its own framing (VIGIL_SSH_SFTP_FRAMING=ssh2), same run.
          const abDir = join(dir, 'ssh2-framing');
          mkdirSync(abDir);
          const ab = await startVigil(abDir, sshd, userCaPub, botPub, { VIGIL_SSH_SFTP_FRAMING: 'ssh2' });
          try {
            ({ rate: ssh2Framing.rate, cpuMsPerMiB: ssh2Framing.cpuMsPerMiB } = await cpuPerMiB(ab.pid, () => scp({ ...via, port: ab.port, knownHosts: ab.knownHosts }, [])));
          } catch (e) {
            console.log(`  vigil with ssh2's SFTP classes: not measured (${(e as Error).message})`);
          }
          await ab.stop();
        }
      } catch (e) {
        m.note = (e as Error).message;
      }
      const piped = mode === 'sftp' ? `   bare pipe ${m.pipe.toFixed(1)} MiB/s (${r(m.pipe / m.direct)})` : '';
      console.log(`scp${mode === 'legacy' ? ' -O' : '   '} ${MIB} MiB of random bytes direct ${m.direct.toFixed(1)} MiB/s   bare ssh2 relay ${m.bare.toFixed(1)} MiB/s (${r(m.bare / m.direct)})${piped}   vigil ${Number.isNaN(m.vigil) ? `not measured (${m.note})` : `${m.vigil.toFixed(1)} MiB/s   ratio ${r(m.vigil / m.direct)}, ${r(m.vigil / m.bare)} of the bare relay`}`);
      console.log(`  relay CPU per MiB (all threads)  bare ssh2 relay ${m.bareCpu.toFixed(2)} ms${mode === 'sftp' ? `   bare pipe ${m.pipeCpu.toFixed(2)} ms` : ''}   vigil ${m.vigilCpu.toFixed(2)} ms`);
      if (mode === 'sftp') console.log(`  vigil with ssh2's SFTP classes (VIGIL_SSH_SFTP_FRAMING=ssh2)  ${ssh2Framing.rate.toFixed(1)} MiB/s (${r(ssh2Framing.rate / m.direct)})   CPU per MiB ${ssh2Framing.cpuMsPerMiB.toFixed(2)} ms`);
    }
    Object.assign(scpSsh2Framing, ssh2Framing);
    bare.stop();
    pipe.stop();
    rmSync(file, { force: true });
  }

  let directEcho = { p50: NaN, p99: NaN };
  let vigilEcho = { p50: NaN, p99: NaN };
  if (ONLY.has('echo')) {
    directEcho = await echoRoundTrips(direct, ECHOES);
    vigilEcho = await echoRoundTrips(via, ECHOES);
    console.log(`echo round trip (${ECHOES}${noPty ? ', vigil without a pty: refused' : ''})     direct p50 ${r(directEcho.p50)} ms p99 ${r(directEcho.p99)} ms   vigil p50 ${r(vigilEcho.p50)} ms p99 ${r(vigilEcho.p99)} ms`);
  }

  const connect = async (e: Endpoint) => (await timed('sh', ['-c', `for i in $(seq ${CONNECTS}); do ssh ${sshArgs(e, key).map((a) => `'${a}'`).join(' ')} -p ${e.port} ${e.user}@127.0.0.1 true || exit 1; done`])) / CONNECTS;
  let directConnect = NaN;
  let vigilConnect = NaN;
  if (ONLY.has('connect')) {
    directConnect = await connect(direct);
    vigilConnect = await connect(via);
    console.log(`certificate login + true (${CONNECTS})  direct ${(directConnect * 1000).toFixed(1)} ms   vigil ${(vigilConnect * 1000).toFixed(1)} ms   rate ratio ${r(directConnect / vigilConnect)}`);
  }

  const idleKiB = IDLE > 0 && ONLY.has('idle') ? await idleGrowth(via, vigil.pid, IDLE) : NaN;
  if (Number.isFinite(idleKiB)) console.log(`idle interactive sessions ${IDLE}  RSS growth ${idleKiB.toFixed(1)} KiB per session`);
  await vigil.stop();
  console.log(
    JSON.stringify({
      bench: 'ssh',
      mib: MIB,
      direct_bulk_mib_s: r(directBulk),
      vigil_bulk_mib_s: r(vigilBulk),
      bulk_ratio_vs_direct: r(vigilBulk / directBulk),
      bare_relay_bulk_mib_s: r(bareBulk),
      bare_relay_bulk_ratio_vs_direct: r(bareBulk / directBulk),
      bulk_ratio_vs_bare_relay: r(vigilBulk / bareBulk),
      vigil_bulk_cpu_ms_per_mib: r(vigilCpu.cpuMsPerMiB),
      bare_relay_bulk_cpu_ms_per_mib: r(bareCpu.cpuMsPerMiB),
      direct_scp_mib_s: r(scpRuns.sftp.direct),
      vigil_scp_mib_s: r(scpRuns.sftp.vigil),
      scp_ratio_vs_direct: r(scpRuns.sftp.vigil / scpRuns.sftp.direct),
      bare_relay_scp_mib_s: r(scpRuns.sftp.bare),
      bare_relay_scp_ratio_vs_direct: r(scpRuns.sftp.bare / scpRuns.sftp.direct),
      bare_pipe_scp_mib_s: r(scpRuns.sftp.pipe),
      bare_pipe_scp_ratio_vs_direct: r(scpRuns.sftp.pipe / scpRuns.sftp.direct),
      scp_ratio_vs_bare_pipe: r(scpRuns.sftp.vigil / scpRuns.sftp.pipe),
      vigil_scp_cpu_ms_per_mib: r(scpRuns.sftp.vigilCpu),
      vigil_ssh2_framing_scp_mib_s: r(scpSsh2Framing.rate),
      vigil_ssh2_framing_scp_ratio_vs_direct: r(scpSsh2Framing.rate / scpRuns.sftp.direct),
      vigil_ssh2_framing_scp_cpu_ms_per_mib: r(scpSsh2Framing.cpuMsPerMiB),
      bare_relay_scp_cpu_ms_per_mib: r(scpRuns.sftp.bareCpu),
      bare_pipe_scp_cpu_ms_per_mib: r(scpRuns.sftp.pipeCpu),
      vigil_scp_legacy_cpu_ms_per_mib: r(scpRuns.legacy.vigilCpu),
      direct_scp_legacy_mib_s: r(scpRuns.legacy.direct),
      vigil_scp_legacy_mib_s: r(scpRuns.legacy.vigil),
      scp_legacy_ratio_vs_direct: r(scpRuns.legacy.vigil / scpRuns.legacy.direct),
      bare_relay_scp_legacy_mib_s: r(scpRuns.legacy.bare),
      bare_relay_scp_legacy_ratio_vs_direct: r(scpRuns.legacy.bare / scpRuns.legacy.direct),
      direct_echo_ms_p50: r(directEcho.p50),
      direct_echo_ms_p99: r(directEcho.p99),
      vigil_echo_ms_p50: r(vigilEcho.p50),
      vigil_echo_ms_p99: r(vigilEcho.p99),
      echo_added_ms_p50: r(vigilEcho.p50 - directEcho.p50),
      echo_added_ms_p99: r(vigilEcho.p99 - directEcho.p99),
      direct_connect_ms: r(directConnect * 1000),
      vigil_connect_ms: r(vigilConnect * 1000),
      connect_ratio_vs_direct: r(directConnect / vigilConnect),
      echo_pty: !noPty,
      idle_sessions: IDLE,
      idle_session_kib: r(idleKiB),
    }),
  );
} finally {
  await sshd.stop();
  rmSync(dir, { recursive: true, force: true });
}
