/**
 * The fleet roster on a real PostgreSQL 15: adding and retiring appliances are signed fleet events,
 * chained, logged in the signer's own transparency log; the fleet trust file lists every key with the
 * window the events give it; an altered event chain stops every membership change; a re-add after a key
 * rotation carries the rotations and closes the old key's window. Through the real `vigil fleet` command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetTrustFile, readFleetEvent, signFleetEvent } from '../../../shared/evidence/fleet.ts';
import { fleetMembers, replayFleetEvents } from '../../../shared/evidence/verify/fleet-members.ts';
import { toBase64 } from '../../../shared/bytes.ts';
import { FleetRoster } from '../../../appliance/fleet/roster.ts';
import { tempDir } from '../../helpers/evidence.ts';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.ts';
import { logged, makeMembers, vigil as vigilAsync, withMember, type MemberDir } from './members.ts';

let pg: PostgresServer;
let dir: string;
let A: MemberDir, B: MemberDir, C: MemberDir;
const sql = (q: string) => pg.psql(q, { database: 'fleet_roster' }).trim();

beforeAll(async () => {
  pg = await startPostgres({ password: 'roster-Secret-8k2w' });
  pg.psql('CREATE DATABASE fleet_roster');
  dir = tempDir('vigil-roster-');
  [A, B, C] = makeMembers(dir, pg, 'fleet_roster', ['A', 'B', 'C']) as [MemberDir, MemberDir, MemberDir];
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

describe('vigil fleet add / retire / list / trust', () => {
  it('adds three appliances as signed, chained events, each logged in the appliance\'s own log', async () => {
    for (const m of [A, B, C]) {
      const r = await vigilAsync(['fleet', 'add', '--config', m.configPath]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^added ${m.applianceId} to the fleet \\(event \\d, key [0-9a-f]{16}`));
    }
    expect(sql("SELECT string_agg(seq || ' ' || action || ' ' || ((envelope->>'signed')::jsonb->>'by' = appliance_id)::text, ',' ORDER BY seq) FROM vigil_fleet_events")).toBe('1 added true,2 added true,3 added true');
    expect(sql("SELECT string_agg(status, ',') FROM vigil_fleet_roster")).toBe('active,active,active');
    const changes = await logged(B, 'fleet.changed');
    expect(changes).toHaveLength(1);
    expect(readFleetEvent(changes[0]!['event'])).toMatchObject({ seq: 2, action: 'added', applianceId: B.applianceId, by: B.applianceId });
    const again = await vigilAsync(['fleet', 'add', '--config', A.configPath]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/refused: fleet event 4 \(added .*\): already a member with key/);
    expect(sql('SELECT count(*) FROM vigil_fleet_events')).toBe('3');
    expect(await logged(A, 'fleet.changed'), 'a refused change is not logged').toHaveLength(1);
  });

  it('retires a peer with a reason, signed by the member that retires it; the retired id cannot rejoin', async () => {
    const r = await vigilAsync(['fleet', 'retire', C.applianceId, '--config', A.configPath, '--reason', 'host decommissioned, CHG-5120']);
    expect(r.stdout).toBe(`retired ${C.applianceId} (event 4, signed by ${A.applianceId}); logged as fleet.changed\n`);
    const changes = await logged(A, 'fleet.changed');
    expect(readFleetEvent(changes[1]!['event'])).toMatchObject({ seq: 4, action: 'retired', applianceId: C.applianceId, by: A.applianceId, reason: 'host decommissioned, CHG-5120' });
    const rejoin = await vigilAsync(['fleet', 'add', '--config', C.configPath]);
    expect(rejoin.code).toBe(1);
    expect(rejoin.stderr).toMatch(/a retired appliance cannot rejoin/);
    const byRetired = await vigilAsync(['fleet', 'retire', B.applianceId, '--config', C.configPath, '--reason', 'x']);
    expect(byRetired.stderr).toMatch(/signed by .*, not an active member/);
    const list = await vigilAsync(['fleet', 'list', '--config', B.configPath]);
    expect(list.stdout).toMatch(new RegExp(`^${C.applianceId}  retired since \\S+  key [0-9a-f]{16}  no checkpoint published  cosigned by: nobody yet$`, 'm'));
  });

  it('writes a fleet trust file whose windows are the events\' and which replays without a problem', async () => {
    const out = join(dir, 'fleet-trust.json');
    expect((await vigilAsync(['fleet', 'trust', '--config', B.configPath, '--out', out])).code).toBe(0);
    const trust = parseFleetTrustFile(readFileSync(out, 'utf8'));
    const r = fleetMembers(trust);
    expect(r.problems).toEqual([]);
    const c = trust.appliances.find((a) => a.applianceId === C.applianceId)!;
    expect(c.status).toBe('retired');
    expect(c.keys[0]!.validUntil).toBe(readFleetEvent(trust.events[3]!).at);
    expect(trust.appliances.find((a) => a.applianceId === A.applianceId)!.keys[0]!.validUntil).toBeNull();
    // A trust file that lists a window its events do not give is reported.
    const edited = structuredClone(trust);
    edited.appliances.find((a) => a.applianceId === C.applianceId)!.keys[0]!.validUntil = null;
    expect(fleetMembers(edited).problems.join('\n')).toMatch(/key .* and its window differ from its events/);
  });

  it('an altered, dropped or reordered event stops every membership change (and the trust file)', async () => {
    const original = sql("SELECT envelope::text FROM vigil_fleet_events WHERE seq = 2");
    const env = JSON.parse(original) as { signed: string };
    const tampered = { ...env, signed: env.signed.replace('"action":"added"', '"action":"added","reason":"x"') };
    sql(`UPDATE vigil_fleet_events SET envelope = '${JSON.stringify(tampered).replaceAll("'", "''")}' WHERE seq = 2`);
    try {
      const r = await vigilAsync(['fleet', 'trust', '--config', A.configPath]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/E_FLEET_CHAIN|do not replay: fleet event 2/);
      const add = await vigilAsync(['fleet', 'retire', B.applianceId, '--config', A.configPath, '--reason', 'x']);
      expect(add.stderr).toMatch(/do not replay/);
    } finally {
      sql(`UPDATE vigil_fleet_events SET envelope = '${original.replaceAll("'", "''")}' WHERE seq = 2`);
    }
    const events = await withMember(A, (_app, fleet) => new FleetRoster(fleet).events());
    expect(replayFleetEvents([events[0]!, events[2]!, events[1]!]).problems[0]).toMatch(/expected event 2/);
    expect(replayFleetEvents([events[0]!, events[2]!]).problems[0]).toMatch(/expected event 2/);
  });

  it('after a key rotation, re-adding carries the rotation and closes the old key\'s window; without it a new key is refused', async () => {
    const before = await withMember(B, async (app) => app.keys.current.keyId);
    expect((await vigilAsync(['keys', 'rotate', '--config', B.configPath])).code).toBe(0);
    const r = await vigilAsync(['fleet', 'add', '--config', B.configPath]);
    expect(r.stdout).toMatch(/^added .* \(event 5, key/);
    const trust = await withMember(A, (_app, fleet) => new FleetRoster(fleet).trustFile());
    const b = trust.appliances.find((a) => a.applianceId === B.applianceId)!;
    expect(b.keys.map((k) => [k.keyId === before, k.validUntil === null])).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(readFleetEvent(trust.events[4]!).rotations).toHaveLength(1);
    // The same event without its rotation: anyone could otherwise announce a key for a member.
    const e = readFleetEvent(trust.events[4]!);
    await withMember(B, async (app) => {
      const { rotations: _r, format: _f, version: _v, ...rest } = e;
      const forged = signFleetEvent({ ...rest, publicKey: toBase64(app.keys.current.publicKey) }, app.keys.current);
      expect(replayFleetEvents([...trust.events.slice(0, 4), forged]).problems[0]).toMatch(/needs the key rotations/);
    });
  });
});
