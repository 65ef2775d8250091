/**
 * The shared store on a real PostgreSQL 15: the schema is created once however many appliances start at
 * the same moment; single-use token ids are claimed once across appliances (concurrent claims, expired
 * claims taken over); an unreachable store makes a claim throw (the token is refused) and `up` false;
 * the connection settings read the password from its file and never show it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedStateSchema } from '../../../appliance/store/shared/config.ts';
import { connectionConfig, SharedPostgres } from '../../../appliance/store/shared/postgres.ts';
import { SHARED_SCHEMA_VERSION } from '../../../appliance/store/shared/schema.ts';
import { PostgresTokenReplayStore } from '../../../appliance/store/shared/token-replay.ts';
import { tempDir } from '../../helpers/evidence.ts';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.ts';

let pg: PostgresServer;
let dir: string;
const logs: string[] = [];
const logger = { info: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`), warn: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`) };
const opened: SharedPostgres[] = [];

function store(id: string, port = pg.port): SharedPostgres {
  const cfg = sharedStateSchema.parse({ postgres: { url: `postgres://gw@127.0.0.1:${port}/postgres`, passwordFile: 'pw', timeoutMs: 1000, pingIntervalMs: 200 } }).postgres;
  const s = new SharedPostgres(connectionConfig(cfg, (p) => join(dir, p)), id, { poolSize: 4, pingIntervalMs: cfg.pingIntervalMs, logger });
  opened.push(s);
  return s;
}

beforeAll(async () => {
  pg = await startPostgres({ password: 'shared-Secret-4q9z' });
  dir = tempDir('vigil-shared-');
  writeFileSync(join(dir, 'pw'), `${pg.password}\n`, { mode: 0o600 });
}, 120_000);
afterAll(async () => {
  for (const s of opened) await s.close();
  await pg?.stop();
});

describe('configuration', () => {
  it('refuses a password in the URL, and needs exactly one of url and urlFile', () => {
    expect(sharedStateSchema.safeParse({ postgres: { url: 'postgres://gw:hunter2@db/x' } }).error?.issues[0]?.message).toMatch(/carries a password/);
    expect(sharedStateSchema.safeParse({ postgres: {} }).success).toBe(false);
    expect(sharedStateSchema.safeParse({ postgres: { url: 'postgres://gw@db/x', urlFile: 'u' } }).success).toBe(false);
    expect(sharedStateSchema.safeParse({ postgres: { urlFile: 'u', passwordFile: 'p' } }).success).toBe(false);
  });

  it('reads the password from its file (or the whole URL from urlFile); what it logs never holds it', () => {
    writeFileSync(join(dir, 'url'), `postgres://gw:${encodeURIComponent('p@ss/word')}@127.0.0.1:5999/fleet?sslmode=require\n`, { mode: 0o600 });
    const fromUrlFile = connectionConfig(sharedStateSchema.parse({ postgres: { urlFile: 'url' } }).postgres, (p) => join(dir, p));
    expect([fromUrlFile.password, fromUrlFile.database, fromUrlFile.port, fromUrlFile.where]).toEqual(['p@ss/word', 'fleet', 5999, '127.0.0.1:5999/fleet']);
    expect(fromUrlFile.ssl).toEqual({ rejectUnauthorized: false });
    const fromFile = connectionConfig(sharedStateSchema.parse({ postgres: { url: 'postgres://gw@127.0.0.1/x', passwordFile: 'pw' } }).postgres, (p) => join(dir, p));
    expect(fromFile.password).toBe(pg.password);
    expect(fromFile.where).not.toContain(pg.password);
  });
});

describe('against PostgreSQL', () => {
  it('two appliances starting at once create the schema once, and both are up', async () => {
    const [a, b] = [store('appliance-a'), store('appliance-b')];
    await Promise.all([a.start(), b.start()]);
    expect([a.up, b.up]).toEqual([true, true]);
    expect(pg.psql('SELECT version FROM vigil_schema').trim()).toBe(String(SHARED_SCHEMA_VERSION));
  });

  it('a single-use token id is claimed once across appliances, also under concurrent claims', async () => {
    const [a, b] = [store('appliance-a'), store('appliance-b')];
    await Promise.all([a.start(), b.start()]);
    const ra = new PostgresTokenReplayStore(a);
    const rb = new PostgresTokenReplayStore(b);
    const exp = new Date(Date.now() + 60_000);
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? ra : rb).claim('https://iss', 'jti-race', exp)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await rb.claim('https://other-iss', 'jti-race', exp), 'issuers are separate namespaces').toBe(true);
    // An expired claim is as good as gone: its token cannot pass verification any more.
    const past = new Date(Date.now() - 1000);
    expect(await ra.claim('https://iss', 'jti-old', past, new Date(Date.now() - 2000))).toBe(true);
    expect(await rb.claim('https://iss', 'jti-old', exp)).toBe(true);
    expect(await ra.claim('https://iss', 'jti-old', exp)).toBe(false);
  });

  it('an unreachable store: down, and a claim throws (the verifier refuses the token)', async () => {
    const s = store('appliance-c', 1); // nothing listens on port 1
    await s.start();
    expect(s.up).toBe(false);
    await expect(new PostgresTokenReplayStore(s).claim('https://iss', 'jti-x', new Date(Date.now() + 60_000))).rejects.toThrow(/shared store/);
    expect(logs.join('\n')).toMatch(/cannot reach the shared store/);
    expect(logs.join('\n')).not.toContain(pg.password);
  });
});
