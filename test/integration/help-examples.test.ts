/**
 * Every example printed by `vigil <command> --help`, run as a newcomer would type it into a fresh shell
 * (sh, the built `vigil` on PATH, an empty home and working directory). Every example must be listed in EXAMPLES
 * below with how it runs, so a new example cannot go untested. What the test changes, and why, is in
 * each entry: absolute paths (/var/lib/vigil, /tmp/demo) move under a temporary directory; the default
 * ports, which other tests on this machine may hold, become free ones; placeholders of the reader's own
 * site (an identity provider, a host name) become the demo environment's. ≈ 20 s.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../appliance/demo/free-port.ts';
import { startDemoEnvironment, type DemoEnvironment } from '../../appliance/demo/gateway-demo.ts';
import { TestIdentityProvider } from '../../appliance/identity/test-identity-provider.ts';
import { createLogger } from '../../appliance/logger.ts';
import { buildBundle } from '../helpers/built.ts';
import { tempDir } from '../helpers/evidence.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { startS3, type TestS3 } from '../helpers/s3.ts';
import { testLogPath } from '../helpers/test-log.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';

interface Example {
  /** Which command's --help prints it. */
  command: string;
  /** 'run': exit 0 expected; 'server': runs until it says it serves, then SIGTERM → exit 0. */
  kind: 'run' | 'server' | 'demo-server';
  /** The line as the newcomer's shell gets it, when it differs from the printed one (and why). */
  rewrite?: (line: string) => string;
  check?: (r: { code: number; stdout: string; stderr: string }) => void;
  /** Expected exit status (default 0). */
  code?: number;
}

let work = '';
let env: DemoEnvironment | undefined;
/** A gateway whose SSH listener trades tokens for certificates (test/adversarial/ssh-certificate-issuer's setup). */
let sshGw: SshGatewayFixture | undefined;
let botTokenFile = '';
let logFile = '';
let s3: TestS3 | undefined;
let fleetPg: PostgresServer | undefined;
const at = (p: string) => (line: string) => line.replaceAll('/var/lib/vigil', join(work, 'var/lib/vigil')).replaceAll('/tmp/demo', join(work, 'tmp/demo')) + p;

/** Order matters: they build on each other as in the README (keys, init, serve, export, verify). */
const EXAMPLES: Record<string, Example> = {
  'vigil keys auditor --out ~/vigil/alice --passphrase': { command: 'keys auditor', kind: 'run', check: (r) => expect(r.stdout).toContain('(passphrase-protected)') },
  'vigil keys auditor --out alice && vigil init --dir /var/lib/vigil --auditor alice.pub': {
    command: 'init',
    kind: 'run',
    // After init, the default ports become free ones (the next example serves on them).
    rewrite: (l) => at('')(l) + ` && sed -i 's/127.0.0.1:6432/127.0.0.1:${ports.pg}/; s/127.0.0.1:2222/127.0.0.1:${ports.ssh}/; s/127.0.0.1:8443/127.0.0.1:${ports.admin}/' ${join(work, 'var/lib/vigil/vigil.yaml')}`,
    check: (r) => expect(r.stdout).toMatch(/initialised in /),
  },
  'vigil serve --config /var/lib/vigil/vigil.yaml': { command: 'serve', kind: 'server', rewrite: at('') },
  // A fresh appliance: nothing fails; what this machine cannot show (no timedated/chrony, no heartbeats yet) is unknown.
  'vigil doctor --config /var/lib/vigil/vigil.yaml': { command: 'doctor', kind: 'run', rewrite: at(''), check: (r) => expect(r.stdout).toMatch(/^PASS +signing-key .*\n[\s\S]* passed, 0 failed, \d+ unknown/m) },
  'vigil doctor --config /var/lib/vigil/vigil.yaml --json --strict': {
    command: 'doctor',
    kind: 'run',
    rewrite: at(''),
    // --strict: the heartbeats check is unknown on an appliance that has not run two heartbeat intervals, so it fails.
    code: 1,
    check: (r) => expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, counts: { fail: 0, unknown: expect.any(Number) } }),
  },
  'vigil export --config /var/lib/vigil/vigil.yaml --out 2026-11.vigil --since 2026-11-01 --until 2026-12-01': { command: 'export', kind: 'run', rewrite: at('') },
  // The auditor holds the trust file the appliance made (they pinned it) and the key from the init example.
  'vigil verify 2026-11.vigil --trust trust.json': { command: 'verify', kind: 'run', rewrite: (l) => `cp ${join(work, 'var/lib/vigil/trust.json')} trust.json && ${l}`, check: (r) => expect(r.stdout).toMatch(/INTEGRITY ONLY \(content not checked\)/) },
  'vigil verify 2026-11.vigil --trust trust.json --key alice.key --json': { command: 'verify', kind: 'run', check: (r) => expect(JSON.parse(r.stdout)).toMatchObject({ ok: true }) },
  // Retention, shipping, backup and restore on the appliance of the examples above (sessions: none, so
  // nothing is due; the purge itself is tested in test/integration/retention.test.ts). 3f2a9c1e is a
  // placeholder session id: "no session" proves the command opened the appliance and looked.
  'vigil retention run --config /var/lib/vigil/vigil.yaml --dry-run': { command: 'retention run', kind: 'run', rewrite: at(''), check: (r) => expect(r.stdout).toMatch(/would purge 0 sessions/) },
  'vigil retention run --config /var/lib/vigil/vigil.yaml --export before-purge.vigil': { command: 'retention run', kind: 'run', rewrite: at(''), check: (r) => expect(r.stdout).toMatch(/^retention policy "default": 2557 days/) },
  'vigil retention hold 3f2a9c1e --config /var/lib/vigil/vigil.yaml --reason "case 2026-114"': { command: 'retention hold', kind: 'run', rewrite: at(''), code: 1, check: (r) => expect(r.stderr).toMatch(/no session 3f2a9c1e on this appliance/) },
  'vigil retention release 3f2a9c1e --config /var/lib/vigil/vigil.yaml --reason "case closed"': { command: 'retention release', kind: 'run', rewrite: at(''), code: 1, check: (r) => expect(r.stderr).toMatch(/no session 3f2a9c1e on this appliance/) },
  'vigil retention holds --config /var/lib/vigil/vigil.yaml': { command: 'retention holds', kind: 'run', rewrite: at(''), check: (r) => expect(r.stdout).toBe('no session is on legal hold\n') },
  // The config gets a shipping: section for the test's versitygw (its bucket made with Object Lock).
  'vigil shipping run --config /var/lib/vigil/vigil.yaml': {
    command: 'shipping run',
    kind: 'run',
    rewrite: (l) => `printf '\\nshipping:\\n  endpoint: ${s3!.endpoint}\\n  bucket: help-examples\\n  credentialsFile: ${s3!.credentialsFile}\\n' >> ${join(work, 'var/lib/vigil/vigil.yaml')} && ${at('')(l)}`,
    check: (r) => expect(r.stdout).toMatch(/shipped 1 object to bucket help-examples/),
  },
  'vigil shipping status --config /var/lib/vigil/vigil.yaml --json': { command: 'shipping status', kind: 'run', rewrite: at(''), check: (r) => expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, shipping: { enabled: true, pending: 0 } }) },
  'vigil backup --config /var/lib/vigil/vigil.yaml --out /srv/backup/vigil-2026-12-03': { command: 'backup', kind: 'run', rewrite: (l) => at('')(l).replace('/srv/backup', join(work, 'srv/backup')), check: (r) => expect(r.stdout).toMatch(/wrote backup/) },
  // Restored beside the original (the original directory is not empty), the auditor's trust.json as witness.
  'vigil restore --backup /srv/backup/vigil-2026-12-03 --config /var/lib/vigil/vigil.yaml --witness trust.json': {
    command: 'restore',
    kind: 'run',
    rewrite: (l) => l.replace('/srv/backup', join(work, 'srv/backup')).replace('/var/lib/vigil/', join(work, 'var/lib/vigil-restored/')),
    check: (r) => expect(r.stdout).toMatch(/restored .*witnesses: trust\.json: checkpoint \d+; bucket help-examples/),
  },
  // The fleet commands on the same appliance, made a fleet of one: its config gets sharedState.postgres (a
  // PostgreSQL 15 started for this test). Alone, nobody witnesses it, so `fleet verify` says partial (exit 3);
  // a fleet of three is test/integration/fleet/ and test/adversarial/fleet-witness.test.ts.
  'vigil fleet add --config /var/lib/vigil/vigil.yaml': {
    command: 'fleet add',
    kind: 'run',
    rewrite: (l) => `printf '\\nsharedState:\\n  postgres:\\n    url: postgres://gw@127.0.0.1:${fleetPg!.port}/help_fleet\\n    passwordFile: ${join(work, 'fleet.password')}\\n' >> ${join(work, 'var/lib/vigil/vigil.yaml')} && ${at('')(l)}`,
    check: (r) => expect(r.stdout).toMatch(/^added \S+ to the fleet \(event 1, key [0-9a-f]{16}/),
  },
  'vigil fleet witness --config /var/lib/vigil/vigil.yaml': { command: 'fleet witness', kind: 'run', rewrite: at(''), check: (r) => expect(r.stdout).toMatch(/^published checkpoint \d+\n$/) },
  'vigil fleet list --config /var/lib/vigil/vigil.yaml': { command: 'fleet list', kind: 'run', rewrite: at(''), check: (r) => expect(r.stdout).toMatch(/^\S+  active  key [0-9a-f]{16}  checkpoint \d+ at \S+  cosigned by: nobody yet\n$/) },
  'vigil fleet trust --config /var/lib/vigil/vigil.yaml --out fleet-trust.json': {
    command: 'fleet trust',
    kind: 'run',
    rewrite: (l) => `${at('')(l)} && grep -c vigil-fleet-trust fleet-trust.json`,
    check: (r) => expect(r.stdout).toBe('1\n'),
  },
  // The session index of the window: this appliance served no session in it.
  'vigil fleet sessions --config /var/lib/vigil/vigil.yaml --since 2026-11-01 --until 2026-12-01 --out sessions.json': {
    command: 'fleet sessions',
    kind: 'run',
    rewrite: at(''),
    check: (r) => expect(r.stdout).toBe('0 session(s) on 0 appliance(s) written to sessions.json\n'),
  },
  // The bundles of a fleet of one: a.vigil exported here; b and c would be the other appliances'.
  'vigil fleet verify --fleet-trust fleet-trust.json a.vigil b.vigil c.vigil': {
    command: 'fleet verify',
    kind: 'run',
    rewrite: (l) => `vigil export --config ${join(work, 'var/lib/vigil/vigil.yaml')} --out a.vigil >/dev/null && ${l.replace(' b.vigil c.vigil', '')}`,
    code: 3,
    check: (r) => expect(r.stdout).toMatch(/^PARTIAL +\S+ \(active\)  bundle: a\.vigil \[integrity-only\][\s\S]*not witnessed: no cosignature/m),
  },
  'vigil fleet verify --fleet-trust fleet-trust.json --sessions sessions.json a.vigil b.vigil c.vigil': {
    command: 'fleet verify',
    kind: 'run',
    rewrite: (l) => l.replace(' b.vigil c.vigil', ''),
    code: 3,
    check: (r) => expect(r.stdout).toMatch(/^PARTIAL +\S+ \(active\)  bundle: a\.vigil \[integrity-only\]  sessions: 0  cosignatures/m),
  },
  // 3c9e51f0-a2d4-4b86-9e1f-0c7d2a5b8e31 is a placeholder appliance id: "not a member" proves the command reached the roster.
  'vigil fleet retire 3c9e51f0-a2d4-4b86-9e1f-0c7d2a5b8e31 --config /var/lib/vigil/vigil.yaml --reason "host decommissioned, CHG-5120"': {
    command: 'fleet retire',
    kind: 'run',
    rewrite: at(''),
    code: 1,
    check: (r) => expect(r.stderr).toMatch(/3c9e51f0-a2d4-4b86-9e1f-0c7d2a5b8e31 is not a member of the fleet/),
  },
  'vigil demo-evidence --out /tmp/demo && vigil verify /tmp/demo/evidence.vigil --trust /tmp/demo/trust.json --key /tmp/demo/auditor.key': {
    command: 'demo-evidence',
    kind: 'run',
    rewrite: at(''),
    check: (r) => expect(r.stdout).toMatch(/PASS: 5 sessions/),
  },
  // Against a running gateway with an identity provider (the demo's): `my-idp token` is the approver's
  // token; apr_Q2M9X… is a placeholder for an id from `approvals list`, so the server answers "not found",
  // which proves the command authenticated and reached it.
  'VIGIL_TOKEN=$(my-idp token) vigil approvals approve apr_Q2M9X… --reason "CHG-4411" --config /var/lib/vigil/vigil.yaml': {
    command: 'approvals approve',
    kind: 'demo-server',
    rewrite: (l) => l.replace('$(my-idp token)', `$(cat ${env!.approverTokenPath})`).replace('apr_Q2M9X…', 'apr_Q2M9X').replace('/var/lib/vigil/vigil.yaml', env!.configPath),
    check: (r) => {
      expect(r.stderr).toMatch(/vigil: error: .*apr_Q2M9X/);
      expect(r.stderr).not.toMatch(/E_UNAUTHENTICATED|no identity token|cannot reach/);
    },
    code: 1,
  },
  // Against a gateway that issues certificates (listeners.ssh.certificateIssuer, a GitHub-like identity
  // provider, target web-1 with login deploy): $ACTIONS_ID_TOKEN is the CI job's token. The ssh half names
  // the reader's own host (vigil.example), so only the certificate is asked for here; ssh with such a
  // certificate is test/adversarial/ssh-certificate-issuer.test.ts.
  'VIGIL_TOKEN=$ACTIONS_ID_TOKEN vigil ssh-cert --new-key ./vigil_key --config vigil.yaml && ssh -i ./vigil_key -p 2222 deploy+web-1@vigil.example uptime': {
    command: 'ssh-cert',
    kind: 'demo-server',
    rewrite: (l) => `ACTIONS_ID_TOKEN=$(cat ${botTokenFile}); ` + l.split(' && ssh ')[0]!.replace('vigil.yaml', sshGw!.configPath),
    check: (r) => expect(r.stdout + r.stderr).toMatch(/^certificate: .*vigil_key-cert\.pub\n(.*\n)*  principals  .*deploy/),
  },
  // The token file of a CI job: the demo identity provider's token stands in for the runner's.
  'vigil kube-credential --token-file /run/secrets/vigil-token   # run by kubectl, from the kubeconfig vigil kubeconfig writes': {
    command: 'kube-credential',
    kind: 'run',
    rewrite: (l) => l.replace('/run/secrets/vigil-token', botTokenFile),
    check: (r) => expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'ExecCredential', status: { token: readFileSync(botTokenFile, 'utf8').trim() } }),
  },
  // $RUNNER_TEMP is GitHub Actions' own; vigil-ca.pem is the appliance's TLS certificate file.
  'vigil kubeconfig --target prod-cluster --server https://vigil.example:6443 --ca vigil-ca.pem --token-file "$RUNNER_TEMP/token" --out kubeconfig': {
    command: 'kubeconfig',
    kind: 'run',
    rewrite: (l) => `cp ${join(sshGw!.dir, 'appliance', 'tls', 'server.crt')} vigil-ca.pem && export RUNNER_TEMP=${join(work, 'runner')} && ${l} && cat kubeconfig`,
    check: (r) => {
      expect(r.stdout).toContain('server: "https://vigil.example:6443/targets/prod-cluster"');
      expect(r.stdout).toMatch(/kube-credential[\s\S]*--token-file[\s\S]*runner\/token/);
    },
  },
  'vigil ssh-cert --token-file /run/secrets/token --key ~/.ssh/id_ed25519 --principal deploy --lifetime 600 --url https://vigil.example:8443 --ca vigil-ca.pem': {
    command: 'ssh-cert',
    kind: 'demo-server',
    rewrite: (l) =>
      `mkdir -p ~/.ssh && ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && ` +
      l
        .replace('/run/secrets/token', botTokenFile)
        .replace('https://vigil.example:8443', `https://127.0.0.1:${sshGw!.gateway.addresses['admin']!.port}`)
        .replace('vigil-ca.pem', join(sshGw!.dir, 'appliance', 'tls', 'server.crt')),
    check: (r) => expect(r.stdout + r.stderr).toMatch(/principals {2}deploy\n/),
  },
};

const ports = { pg: 0, ssh: 0, admin: 0 };
let shellEnv: Record<string, string>;
let cwd = '';

beforeAll(async () => {
  work = tempDir('vigil-examples-');
  cwd = join(work, 'cwd');
  const home = join(work, 'home');
  const bin = join(work, 'bin');
  for (const d of [cwd, home, bin]) mkdirSync(d, { recursive: true });
  // `vigil` on PATH is the built appliance (scripts/build.sh, ≈ 3 s): the same commands as `npx vigil` from
  // the checkout, each starting in ≈ 0.3 s instead of ≈ 2 s through tsx, and the artifact operators run.
  buildBundle(join(work, 'app'));
  s3 = await startS3();
  await s3.createLockedBucket('help-examples');
  fleetPg = await startPostgres({ password: 'help-Fleet-3v8q' });
  fleetPg.psql('CREATE DATABASE help_fleet');
  writeFileSync(join(work, 'fleet.password'), fleetPg.password + '\n', { mode: 0o600 });
  writeFileSync(join(bin, 'vigil'), `#!/bin/sh\nexec ${process.execPath} ${join(work, 'app', 'vigil.js')} "$@"\n`);
  chmodSync(join(bin, 'vigil'), 0o755);
  shellEnv = { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, HOME: home, LANG: 'C.UTF-8', VIGIL_PASSPHRASE: 'correct horse battery staple' };
  ports.pg = await freePort(0);
  ports.ssh = await freePort(0);
  ports.admin = await freePort(0);
  logFile = testLogPath('help-examples-demo');
  const demoDir = join(work, 'demo-env');
  mkdirSync(demoDir);
  env = await startDemoEnvironment({ dir: demoDir, logger: createLogger({ destination: logFile }) });
  const issuer = 'https://token.actions.githubusercontent.com';
  const idp = await TestIdentityProvider.create({ issuer });
  idp.writeJwks(join(work, 'jwks.json'));
  sshGw = await startSshGatewayFixture({
    policies: `
policies:
  - name: ci
    match: { providers: [github] }
    targets: [web, web-1]
    classes: { exec: allow, default: block }
`,
    listenerExtra: `    certificateIssuer: { defaultLifetimeSeconds: 600, maxLifetimeSeconds: 900 }
  admin:
    address: 127.0.0.1:${await freePort(0)}
    tls: { cert: tls/server.crt, key: tls/server.key }
`,
    extraTargets: `  - name: web-1
    protocol: ssh
    host: 127.0.0.1
    port: SSHD_PORT
    user: deploy
    credential: { file: SSHD_KEY }
    hostKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl']
`,
    extraConfig: `identityProviders:
  - name: github
    issuer: ${issuer}
    audiences: [vigil]
    jwks: { file: ${join(work, 'jwks.json')} }
    algorithms: [ES256]
`,
  });
  botTokenFile = join(work, 'ci-token');
  writeFileSync(botTokenFile, (await idp.mint({ sub: 'repo:acme/deploy:ref:refs/heads/main', aud: 'vigil' })) + '\n', { mode: 0o600 });
}, 300_000); // versitygw is built first on a cold machine when not already (scripts/test.sh builds it before vitest)

afterAll(async () => {
  await s3?.stop();
  await fleetPg?.stop();
  await sshGw?.stop();
  await env?.gateway.stop();
  await env?.stopTarget();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** `vigil --help`, then every command's --help. */
async function printedExamples(): Promise<{ command: string; line: string }[]> {
  const help = await sh('vigil --help');
  const commands = help.stdout
    .split('Commands:\n')[1]!
    .split('\n\n')[0]!
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/)[0]!);
  expect(commands.length).toBeGreaterThan(10);
  const helps = await Promise.all(commands.map((command) => sh(`vigil ${command} --help`)));
  const out: { command: string; line: string }[] = [];
  commands.forEach((command, i) => {
    expect(helps[i]!.code, command).toBe(0);
    const ex = helps[i]!.stdout.split('\nExamples:\n')[1];
    if (ex) for (const l of ex.split('\n')) if (l.trim()) out.push({ command, line: l.trim() });
  });
  return out;
}

function sh(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', line], { cwd, env: shellEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function serveUntilReady(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  // exec: the signal goes to vigil itself, as a supervisor's would.
  const child = spawn('sh', ['-c', `exec ${line}`], { cwd, env: shellEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let signalled = false;
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    stdout += d;
    // Once: a second SIGTERM during the drain ends vigil at once (the default action), as a supervisor's would.
    if (!signalled && stdout.includes('vigil: serving')) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    }),
  );
}

describe('every --help example', () => {
  it('is listed here with how it runs (a new example must be added)', async () => {
    const printed = await printedExamples();
    expect(printed.map((p) => p.line).sort()).toEqual(Object.keys(EXAMPLES).sort());
    for (const p of printed) expect(EXAMPLES[p.line]!.command, p.line).toBe(p.command);
  });

  for (const [line, ex] of Object.entries(EXAMPLES)) {
    it(`${ex.command}: ${line}`, async () => {
      const typed = ex.rewrite ? ex.rewrite(line) : line;
      const r = ex.kind === 'server' ? await serveUntilReady(typed) : await sh(typed);
      if (ex.check) ex.check(r);
      if (ex.kind === 'server') {
        expect(r.stdout).toMatch(/^vigil: serving PostgreSQL on 127\.0\.0\.1:\d+/);
        expect(r.stderr).toContain('vigil gateway stopped');
      }
      expect(r.code, `${typed}\n${r.stdout}\n${r.stderr}`).toBe(ex.code ?? 0);
    });
  }

  it('the gateway log of the demo environment holds no token', () => {
    const log = readFileSync(logFile, 'utf8');
    for (const p of [env!.tokenPath, env!.approverTokenPath]) expect(log).not.toContain(readFileSync(p, 'utf8').trim());
  });
});
