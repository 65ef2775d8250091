/**
 * Appliance directories of a fleet for the roster and witness tests: each a real `vigil init` directory
 * whose vigil.yaml points sharedState.postgres at one real PostgreSQL 15, opened in-process (or driven
 * through the real `vigil` command by the adversarial tests).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type pino from 'pino';
import { join } from 'node:path';
import { createAuditorKey } from '../../../shared/evidence/auditor-key.ts';
import { Appliance } from '../../../appliance/appliance.ts';
import { exportBundle } from '../../../appliance/export/export-bundle.ts';
import { withFleet, type FleetConnection } from '../../../appliance/fleet/sql.ts';
import { FleetWitness, type WitnessRound } from '../../../appliance/fleet/witness.ts';
import { initAppliance } from '../../../appliance/init.ts';
import { vigilAsync } from '../../helpers/cli.ts';
import type { PostgresServer } from '../../helpers/postgres.ts';
import { registerTestSecret, testLogger, testLogPath } from '../../helpers/test-log.ts';

export interface MemberDir {
  name: string;
  dir: string;
  configPath: string;
  applianceId: string;
}

export function makeMembers(dir: string, pg: PostgresServer, database: string, names: readonly string[]): MemberDir[] {
  registerTestSecret(pg.password);
  const key = createAuditorKey({ label: 'fleet auditor' });
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  return names.map((name) => {
    const init = initAppliance({ dir: join(dir, name), auditors: [join(dir, 'auditor.pub')], tls: false });
    writeFileSync(join(init.dir, 'fleet.password'), pg.password + '\n', { mode: 0o600 });
    appendFileSync(init.configPath, `\nsharedState:\n  postgres:\n    url: postgres://gw@127.0.0.1:${pg.port}/${database}\n    passwordFile: fleet.password\n    timeoutMs: 3000\n`);
    return { name, dir: init.dir, configPath: init.configPath, applianceId: init.applianceId };
  });
}

/** Opens the member (as `vigil fleet …` does, beside a possible gateway) and runs `fn` with its fleet connection. */
export function withMember<T>(m: MemberDir, fn: (app: Appliance, fleet: FleetConnection) => Promise<T>): Promise<T> {
  return withFleet(m.configPath, fn);
}

/** The member's log entries of one type, parsed. */
export function logged(m: MemberDir, type: string): Promise<Record<string, any>[]> {
  return withMember(m, async (app) => [...app.log.entries(0, app.log.size())].map((t) => JSON.parse(t) as Record<string, any>).filter((e) => e['type'] === type));
}

let logger: pino.Logger | undefined;

/** One witness round, logged as the gateway's loop logs it (the run's log scan reads these lines). */
export async function witnessRound(m: MemberDir): Promise<WitnessRound> {
  logger ??= testLogger('fleet-witness');
  const log = logger;
  const r = await withMember(m, (app, fleet) => new FleetWitness({ sql: fleet, applianceId: app.id, log: app.log, db: app.db, signer: app.keys.signer, logger: log }).round());
  log.info({ event: 'fleet.witness', appliance: m.name, published: r.published?.size, cosigned: r.cosigned, refused: r.refused }, 'witness round');
  return r;
}

/** What a `vigil fleet …` process wrote to stderr goes to the run's log scan too. */
export function keepStderr(name: string, stderr: string): void {
  if (stderr.trim()) writeFileSync(testLogPath(name), stderr.endsWith('\n') ? stderr : stderr + '\n');
}

export async function exportMember(m: MemberDir, out: string): Promise<string> {
  const app = await Appliance.open(m.configPath, { owner: false });
  try {
    await exportBundle(app, { out });
  } finally {
    await app.close();
  }
  return out;
}

/** The real `vigil` command; its stderr (errors, the witness's warnings) joins the run's log scan. */
export async function vigil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await vigilAsync(args);
  keepStderr(`vigil-${args[0]}-${args[1]}`, r.stderr);
  return r;
}

/** The policy of the fleet tests that only read: the CI bot may SELECT on payments. */
export const READ_POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, default: block }
`;
