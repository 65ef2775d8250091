/**
 * A purge record does not launder a deletion: the verifier accepts a session as purged only when a record
 * signed by a trusted key names that session's manifest, no sooner than the policy's days (and never fewer
 * than 365) after its end as the log dates it, with no legal hold standing. Each attack: the archive is
 * really gone from the bundle AND the report fails the session, saying why.
 */
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signPurgeRecord } from '../../shared/evidence/purge-record.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { generateSigningKey } from '../../appliance/keys/signing-key.ts';
import { placeHold } from '../../appliance/retention/holds.ts';
import { runRetention } from '../../appliance/retention/purge.ts';
import { failures, members, newAppliance, verifyBytes, type TestAppliance } from '../helpers/evidence.ts';
import { exportTo, recordSessions } from '../helpers/viewer-evidence.ts';

const DAY = 86_400_000;

async function setup(): Promise<{ a: TestAppliance; app: Appliance; clock: { t: number }; id: string; path: string }> {
  const a = newAppliance();
  const clock = { t: Date.now() };
  const app = await Appliance.open(a.configPath, { now: () => new Date(clock.t) });
  const [id] = await recordSessions(app, [{ subject: 'bot', commands: 1 }]);
  const path = join(a.dir, 'appliance', 'data', (app.db.prepare('SELECT path FROM sessions WHERE id = ?').pluck().get(id) as string));
  return { a, app, clock, id: id!, path };
}

async function verdict(a: TestAppliance, app: Appliance) {
  await app.close();
  const bundle = await exportTo(a.configPath, join(a.dir, 'b.vigil'));
  expect((await members(bundle)).filter((m) => m.name.startsWith('archives/'))).toEqual([]);
  return verifyBytes(bundle, a.trust, a.auditor);
}

describe('a purge record the verifier must refuse', () => {
  it('purged before its retention ended (the record claims a late time, the log dates it early)', async () => {
    const { a, app, clock } = await setup();
    clock.t += 10 * DAY;
    const r = await runRetention(app, { now: new Date(clock.t + 3000 * DAY) });
    expect(r.deleted.local).toBe(1);
    const report = await verdict(a, app);
    expect(report.sessions[0]!.status).toBe('failed');
    expect(failures(report)).toEqual([expect.stringMatching(/session-sequence: .*does not account for its archive: purged at .*, before its retention \(2557 days from .*\) ended/)]);
  });

  it('purged while a legal hold stood (the hold removed from the store, not released in the log)', async () => {
    const { a, app, clock, id } = await setup();
    placeHold(app, id, 'litigation', 'legal');
    app.db.prepare('DELETE FROM legal_holds').run();
    clock.t += 2558 * DAY;
    expect((await runRetention(app, { now: new Date(clock.t) })).deleted.local).toBe(1);
    const report = await verdict(a, app);
    expect(failures(report)).toEqual([expect.stringMatching(/session-sequence: .*a legal hold placed on it was never released before the purge/)]);
  });

  it('a record signed by a key the trust file does not know', async () => {
    const { a, app, clock, id, path } = await setup();
    clock.t += 2558 * DAY;
    const row = app.db.prepare('SELECT seq, ended_at, manifest_digest FROM sessions WHERE id = ?').get(id) as { seq: number; ended_at: string; manifest_digest: string };
    const rogue = generateSigningKey().key;
    const record = signPurgeRecord(
      {
        applianceId: app.id, purgeId: 'p', time: new Date(clock.t).toISOString(), reason: 'retention', policy: { name: 'x', days: 2557 },
        cutoff: new Date(clock.t).toISOString(), exportedIn: null,
        sessions: [{ sessionId: id, seq: row.seq, endedAt: row.ended_at, manifestDigest: row.manifest_digest, archiveSha256: null, copies: ['local'] }],
      },
      rogue,
    );
    app.log.append('evidence.purged', { purgeId: 'p', sessions: 1, record });
    unlinkSync(path);
    const report = await verdict(a, app);
    expect(failures(report)).toEqual([expect.stringMatching(/session-sequence: .*purge record \(log entry \d+\) does not account for its archive: .*key/)]);
  });

  it('a record for another archive of the session (another manifest digest)', async () => {
    const { a, app, clock, id, path } = await setup();
    clock.t += 2558 * DAY;
    const row = app.db.prepare('SELECT seq, ended_at FROM sessions WHERE id = ?').get(id) as { seq: number; ended_at: string };
    const record = signPurgeRecord(
      {
        applianceId: app.id, purgeId: 'p', time: new Date(clock.t).toISOString(), reason: 'retention', policy: { name: 'x', days: 2557 },
        cutoff: new Date(clock.t).toISOString(), exportedIn: null,
        sessions: [{ sessionId: id, seq: row.seq, endedAt: row.ended_at, manifestDigest: 'ab'.repeat(32), archiveSha256: null, copies: ['local'] }],
      },
      app.keys.current,
    );
    app.log.append('evidence.purged', { purgeId: 'p', sessions: 1, record });
    unlinkSync(path);
    const report = await verdict(a, app);
    expect(failures(report)).toEqual([expect.stringMatching(/another manifest digest than the log's end entry/)]);
  });

  it('a record, signed by the appliance key, under a policy shorter than PCI DSS 10.5.1\'s 12 months', async () => {
    const { a, app, clock, id, path } = await setup();
    clock.t += 40 * DAY;
    const row = app.db.prepare('SELECT seq, ended_at, manifest_digest FROM sessions WHERE id = ?').get(id) as { seq: number; ended_at: string; manifest_digest: string };
    const record = signPurgeRecord(
      {
        applianceId: app.id, purgeId: 'p', time: new Date(clock.t).toISOString(), reason: 'retention', policy: { name: 'thirty-days', days: 30 },
        cutoff: new Date(clock.t - 30 * DAY).toISOString(), exportedIn: null,
        sessions: [{ sessionId: id, seq: row.seq, endedAt: row.ended_at, manifestDigest: row.manifest_digest, archiveSha256: null, copies: ['local'] }],
      },
      app.keys.current,
    );
    app.log.append('evidence.purged', { purgeId: 'p', sessions: 1, record });
    unlinkSync(path);
    const report = await verdict(a, app);
    expect(failures(report)).toEqual([expect.stringMatching(/its policy keeps 30 days, below PCI DSS 10\.5\.1's 365/)]);
  });
});
