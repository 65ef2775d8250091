/**
 * `vigil fleet add|retire|list|trust|witness`: the fleet roster in the shared store (docs/fleet.md). Each
 * runs beside a running gateway (it opens the appliance without its lock, as `vigil export` does): a
 * membership change is a signed event, logged in the signing appliance's own transparency log.
 */
import { writeFileSync } from 'node:fs';
import { formatFingerprint } from '../../../shared/evidence/key-id.ts';
import { FleetRoster } from '../../fleet/roster.ts';
import { withFleet } from '../../fleet/sql.ts';
import { listSessions } from '../../fleet/session-index.ts';
import { FleetWitness } from '../../fleet/witness.ts';
import { EXIT, defineCommand, parseCommand } from '../command.ts';

const config = { type: 'string', value: 'FILE', description: 'this appliance\'s config (DIR/vigil.yaml), with sharedState.postgres', required: true } as const;

const addSpec = defineCommand({
  name: 'fleet add',
  summary: 'Add this appliance to the fleet: a fleet event signed by its own key, logged in its log.',
  description:
    'Run once on each appliance (the first one founds the fleet). Run it again after `vigil keys rotate`:\n' +
    'the event then carries the rotations from the key the fleet knows to the new one.',
  options: { config },
  examples: ['vigil fleet add --config /var/lib/vigil/vigil.yaml'],
});

export async function fleetAdd(argv: string[]): Promise<number> {
  const a = parseCommand(addSpec, argv);
  if (!a) return EXIT.ok;
  return withFleet(a.values.config!, async (app, fleet) => {
    const key = app.keys.current;
    const r = await new FleetRoster(fleet).add({ applianceId: app.id, signer: key, keys: app.keys.records(), log: app.log });
    process.stdout.write(`added ${app.id} to the fleet (event ${r.seq}, key ${key.keyId}, fingerprint ${formatFingerprint(key.fingerprint)}); logged as fleet.changed\n`);
    return EXIT.ok;
  });
}

const retireSpec = defineCommand({
  name: 'fleet retire',
  summary: 'Retire an appliance (this one, or a peer that is gone): a fleet event signed by this appliance.',
  description:
    'From then on the fleet no longer witnesses it or accepts its cosignatures, and a verifier refuses\n' +
    'anything its key signs after the retirement. A retired appliance id cannot rejoin.',
  positionals: ['APPLIANCE_ID'],
  options: { config, reason: { type: 'string', value: 'TEXT', description: 'why (kept in the signed event)', required: true } },
  examples: ['vigil fleet retire 3c9e51f0-a2d4-4b86-9e1f-0c7d2a5b8e31 --config /var/lib/vigil/vigil.yaml --reason "host decommissioned, CHG-5120"'],
});

export async function fleetRetire(argv: string[]): Promise<number> {
  const a = parseCommand(retireSpec, argv);
  if (!a) return EXIT.ok;
  const id = a.positionals[0]!;
  return withFleet(a.values.config!, async (app, fleet) => {
    const r = await new FleetRoster(fleet).retire({ applianceId: id, by: app.id, signer: app.keys.current, reason: a.values.reason!, log: app.log });
    process.stdout.write(`retired ${id} (event ${r.seq}, signed by ${app.id}); logged as fleet.changed\n`);
    return EXIT.ok;
  });
}

const listSpec = defineCommand({
  name: 'fleet list',
  summary: 'List the fleet roster: members, keys, status, last published checkpoint, who cosigned it.',
  options: { config, json: { type: 'boolean', description: 'machine-readable' } },
  examples: ['vigil fleet list --config /var/lib/vigil/vigil.yaml'],
});

export async function fleetList(argv: string[]): Promise<number> {
  const a = parseCommand(listSpec, argv);
  if (!a) return EXIT.ok;
  return withFleet(a.values.config!, async (_app, fleet) => {
    const rows = await new FleetRoster(fleet).list();
    if (a.values.json) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return EXIT.ok;
    }
    if (!rows.length) process.stdout.write('the fleet has no members yet (vigil fleet add)\n');
    for (const r of rows) {
      const cp = r.lastCheckpointSize === null ? 'no checkpoint published' : `checkpoint ${r.lastCheckpointSize} at ${r.lastCheckpointTime}`;
      const by = r.cosignedBy.length ? r.cosignedBy.map((c) => `${c.witnessId} (size ${c.size})`).join(', ') : 'nobody yet';
      process.stdout.write(`${r.applianceId}  ${r.status}${r.retiredAt ? ` since ${r.retiredAt}` : ''}  key ${r.keyId}  ${cp}  cosigned by: ${by}\n`);
    }
    return EXIT.ok;
  });
}

const trustSpec = defineCommand({
  name: 'fleet trust',
  summary: 'Write the fleet trust file auditors pin: every appliance key with its window, the signed events, the latest checkpoints.',
  options: { config, out: { type: 'string', value: 'FILE', description: 'where to write it (default: stdout)' } },
  examples: ['vigil fleet trust --config /var/lib/vigil/vigil.yaml --out fleet-trust.json'],
});

export async function fleetTrust(argv: string[]): Promise<number> {
  const a = parseCommand(trustSpec, argv);
  if (!a) return EXIT.ok;
  return withFleet(a.values.config!, async (_app, fleet) => {
    const text = JSON.stringify(await new FleetRoster(fleet).trustFile(), null, 2) + '\n';
    if (a.values.out) writeFileSync(a.values.out, text);
    else process.stdout.write(text);
    return EXIT.ok;
  });
}

const witnessSpec = defineCommand({
  name: 'fleet witness',
  summary: 'Run one witness round now: publish this appliance\'s checkpoint, cosign (or refuse) the others\'.',
  description: 'vigil serve does this every sharedState.witness.intervalSeconds. Exit 1 when a checkpoint was refused.',
  options: { config, json: { type: 'boolean', description: 'machine-readable' } },
  examples: ['vigil fleet witness --config /var/lib/vigil/vigil.yaml'],
});

export async function fleetWitness(argv: string[]): Promise<number> {
  const a = parseCommand(witnessSpec, argv);
  if (!a) return EXIT.ok;
  return withFleet(a.values.config!, async (app, fleet) => {
    const say = (o: object, m: string) => process.stderr.write(`${m} ${JSON.stringify(o)}\n`);
    const w = new FleetWitness({ sql: fleet, applianceId: app.id, log: app.log, db: app.db, signer: app.keys.signer, logger: { info: () => undefined, warn: say, error: say } });
    const r = await w.round();
    if (a.values.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      process.stdout.write(r.published ? `published checkpoint ${r.published.size}\n` : 'published nothing new\n');
      for (const c of r.cosigned) process.stdout.write(`cosigned ${c.subject} at size ${c.size}\n`);
      for (const x of r.refused) process.stdout.write(`REFUSED ${x.subject} (${x.kind}): ${x.reason}\n`);
      for (const s of r.skipped) process.stdout.write(`skipped ${s.subject}: ${s.why}\n`);
    }
    return r.refused.length ? EXIT.failed : EXIT.ok;
  });
}

const sessionsSpec = defineCommand({
  name: 'fleet sessions',
  summary: 'List the sessions the fleet served in a window, with the appliance that served each (the shared session index).',
  description:
    'The index is read from each appliance\'s signed log at its witness rounds (so it lags by up to one\n' +
    'round). Give the file to `vigil fleet verify --sessions` to check no session is missing on any appliance.',
  options: {
    config,
    since: { type: 'string', value: 'TIME', description: 'sessions started at or after (ISO time or date)' },
    until: { type: 'string', value: 'TIME', description: 'sessions started before' },
    out: { type: 'string', value: 'FILE', description: 'write the list as JSON (for vigil fleet verify --sessions)' },
  },
  examples: ['vigil fleet sessions --config /var/lib/vigil/vigil.yaml --since 2026-11-01 --until 2026-12-01 --out sessions.json'],
});

export async function fleetSessions(argv: string[]): Promise<number> {
  const a = parseCommand(sessionsSpec, argv);
  if (!a) return EXIT.ok;
  return withFleet(a.values.config!, async (_app, fleet) => {
    const list = await listSessions(fleet, a.values.since ?? null, a.values.until ?? null);
    if (a.values.out) {
      writeFileSync(a.values.out, JSON.stringify(list, null, 2) + '\n');
      process.stdout.write(`${list.sessions.length} session(s) on ${new Set(list.sessions.map((x) => x.applianceId)).size} appliance(s) written to ${a.values.out}\n`);
    } else {
      for (const x of list.sessions) process.stdout.write(`${x.startedAt}  ${x.applianceId}  #${x.seq} ${x.sessionId}  ${x.protocol}  ${x.subject ?? '?'} → ${x.target ?? '?'}\n`);
    }
    return EXIT.ok;
  });
}
