/**
 * Configuration reload (SIGHUP → Gateway.reload): validated first, a bad file keeps the running one and
 * says why; policies apply to sessions opened afterwards (a real node-postgres client through the real
 * gateway); other changed sections are reported as needing a restart and not applied; each reload is
 * logged as config.changed with the file's SHA-256. Then the same through `vigil serve` and a real SIGHUP.
 * ≈ 12 s.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../appliance/demo/free-port.ts';
import { startDemoEnvironment, type DemoEnvironment } from '../../appliance/demo/gateway-demo.ts';
import { createLogger } from '../../appliance/logger.ts';
import { ROOT, vigil } from '../helpers/cli.ts';
import { tempDir } from '../helpers/evidence.ts';
import { testLogPath } from '../helpers/test-log.ts';

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
let env: DemoEnvironment;
let logFile: string;
let token: string;

async function select(): Promise<string> {
  const c = new pg.Client({ host: '127.0.0.1', port: env.port, user: 'ci-bot', database: 'payments', password: token, ssl: { rejectUnauthorized: false } });
  await c.connect();
  try {
    const r = await c.query('SELECT count(*) AS n FROM customers');
    return `rows ${String((r.rows[0] as { n: unknown }).n)}`;
  } catch (e) {
    return `ERROR ${(e as { code?: string }).code}: ${(e as Error).message}`;
  } finally {
    await c.end();
  }
}

const logLines = () =>
  readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  const dir = tempDir('vigil-reload-');
  logFile = testLogPath('config-reload');
  env = await startDemoEnvironment({ dir, logger: createLogger({ destination: logFile }) });
  token = readFileSync(env.tokenPath, 'utf8').trim();
}, 60_000);

afterAll(async () => {
  await env?.gateway.stop();
  await env?.stopTarget();
});

describe('Gateway.reload', () => {
  it('applies a policy change to new sessions and logs config.changed with the digest', async () => {
    expect(await select()).toMatch(/^rows \d+$/);
    const before = sha256(env.configPath);
    const text = readFileSync(env.configPath, 'utf8');
    expect(text).toContain('classes: { read: allow');
    writeFileSync(env.configPath, text.replace('classes: { read: allow', 'classes: { read: block'));
    const r = env.gateway.reload();
    expect(r).toMatchObject({ event: 'config.changed', digest: sha256(env.configPath), previousDigest: before, applied: ['policies'], restartNeeded: [] });
    expect(await select()).toMatch(/^ERROR 42501: .*blocked by Vigil policy/);
    await new Promise((res) => setTimeout(res, 100)); // pino writes asynchronously
    const logged = logLines().find((l) => l['event'] === 'config.changed' && l['digest'] === r.digest);
    expect(logged).toMatchObject({ applied: ['policies'], previousDigest: before, msg: 'configuration reloaded' });
    // Back again.
    writeFileSync(env.configPath, text);
    expect(env.gateway.reload().applied).toEqual(['policies']);
    expect(await select()).toMatch(/^rows \d+$/);
  });

  it('rejects a file that does not validate, naming file:line, and keeps the running policy', async () => {
    const text = readFileSync(env.configPath, 'utf8');
    writeFileSync(env.configPath, text.replace('classes: { read: allow', 'classes: { read: allowed'));
    expect(() => env.gateway.reload()).toThrow(new RegExp(`${env.configPath.replace(/[.]/g, '\\.')}:\\d+: policies\\.0\\.classes\\.read`));
    expect(await select()).toMatch(/^rows \d+$/);
    writeFileSync(env.configPath, text);
  });

  it('reports sections that need a restart and does not apply them', async () => {
    const text = readFileSync(env.configPath, 'utf8');
    const port = /postgres:\n {4}address: 127\.0\.0\.1:(\d+)/.exec(text)![1]!;
    writeFileSync(env.configPath, text.replace(`127.0.0.1:${port}`, `127.0.0.1:${Number(port) + 1}`).replace('classes: { read: allow', 'classes: { read: block'));
    const r = env.gateway.reload();
    expect(r.applied).toEqual(['policies']);
    expect(r.restartNeeded).toEqual(['listeners']);
    expect(env.gateway.addresses['postgres']!.port).toBe(Number(port)); // still where it was
    expect(await select()).toMatch(/^ERROR 42501/);
    writeFileSync(env.configPath, text);
    // The listener never changed in the running gateway, so going back needs no restart.
    expect(env.gateway.reload()).toMatchObject({ applied: ['policies'], restartNeeded: [] });
    // Re-reading an unchanged file again changes nothing.
    expect(env.gateway.reload()).toMatchObject({ applied: [], restartNeeded: [] });
    expect(await select()).toMatch(/^rows \d+$/);
  });
});

describe('vigil serve and SIGHUP', () => {
  it('reloads on SIGHUP, says so with the digest, rejects a bad file and keeps running', async () => {
    const dir = tempDir('vigil-sighup-');
    expect(vigil(['keys', 'auditor', '--out', join(dir, 'alice')]).code).toBe(0);
    expect(vigil(['init', '--dir', join(dir, 'app'), '--auditor', join(dir, 'alice.pub')]).code).toBe(0);
    const config = join(dir, 'app', 'vigil.yaml');
    const ports = [await freePort(0), await freePort(0), await freePort(0)];
    const text = readFileSync(config, 'utf8').replace('127.0.0.1:6432', `127.0.0.1:${ports[0]}`).replace('127.0.0.1:2222', `127.0.0.1:${ports[1]}`).replace('127.0.0.1:8443', `127.0.0.1:${ports[2]}`);
    writeFileSync(config, text);
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'vigil.mjs'), 'serve', '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 300 && !what(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(what(), out + err).toBe(true);
    };
    try {
      await until(() => out.includes('vigil: serving'));
      writeFileSync(config, `${text}\nschedules:\n  business-hours: { days: [mon, tue, wed, thu, fri], from: '08:00', to: '18:00', timezone: Europe/Berlin }\n`);
      expect(readFileSync(config, 'utf8')).not.toBe(text);
      child.kill('SIGHUP');
      await until(() => out.includes('vigil: configuration reloaded'));
      expect(out).toContain(`vigil: configuration reloaded (sha256 ${sha256(config)}); applied: schedules\n`);
      await until(() => err.includes('"event":"config.changed"'));
      writeFileSync(config, text + '\nlisteners: [oops\n');
      child.kill('SIGHUP');
      await until(() => err.includes('vigil: configuration rejected'));
      expect(err).toMatch(new RegExp(`vigil: configuration rejected, the running one stays: ${config.replace(/[.]/g, '\\.')}:\\d+: `));
      expect(err).toContain('"event":"config.rejected"');
      expect(child.exitCode).toBe(null);
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 60_000);
});
