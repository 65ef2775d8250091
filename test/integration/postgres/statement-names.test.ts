/**
 * What a prepared-statement or portal name means must follow the server, not the client's hopes: a Parse
 * or Bind the server rejects (a name that already exists) changes nothing, and SQL-level PREPARE /
 * DEALLOCATE / DISCARD make every name unknown. Otherwise a harmless re-Parse could smuggle an earlier,
 * held statement past its approval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toServer } from '../../../appliance/protocols/postgres/wire/index.ts';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { rawLogin } from '../../helpers/pg-raw-client.ts';

let f: GatewayFixture;
beforeAll(async () => {
  f = await startGatewayFixture({
    policies: `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, session: allow, transaction: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`,
  });
}, 120_000);
afterAll(async () => {
  await f?.stop();
});

const noticeOrError = (c: Awaited<ReturnType<typeof rawLogin>>, from: number) =>
  c.messages.slice(from).filter((m) => m.type === 'N' || m.type === 'E').map((m) => (m.type === 'N' || m.type === 'E' ? `${m.type}:${m.fields.get('C')}:${m.fields.get('M')}` : ''));

async function waitFor(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
}

describe('statement names follow the server', () => {
  it('a rejected re-Parse of a held statement\'s name cannot make it look harmless', async () => {
    const c = await rawLogin(f.port, await f.token());
    // s1 is a write: prepared (preparing runs nothing) and would be held at Execute.
    c.send(Buffer.concat([toServer.parse('s1', "DELETE FROM audit_scratch"), toServer.sync()]));
    await waitFor(() => c.messages.filter((m) => m.type === 'Z').length >= 2);
    // Re-Parse s1 as a harmless SELECT: the server refuses ("already exists"), so s1 is still the DELETE.
    const mark = c.messages.length;
    c.send(Buffer.concat([toServer.parse('s1', 'SELECT 1'), toServer.bind({ statement: 's1' }), toServer.execute(), toServer.sync()]));
    await waitFor(() => c.messages.slice(mark).some((m) => m.type === 'Z'));
    expect(noticeOrError(c, mark)).toEqual(['E:42P05:prepared statement "s1" already exists']);
    // Executing s1 now is the DELETE, held for approval — not silently run as "SELECT 1".
    const mark2 = c.messages.length;
    c.send(Buffer.concat([toServer.bind({ statement: 's1' }), toServer.execute(), toServer.sync()]));
    await waitFor(() => c.messages.slice(mark2).some((m) => m.type === 'N'));
    expect(noticeOrError(c, mark2)[0]).toMatch(/^N:01000:Vigil is holding this command for approval/);
    c.close();
  });

  it('SQL-level PREPARE behind a protocol name makes the name unknown (blocked)', async () => {
    const c = await rawLogin(f.port, await f.token());
    c.send(Buffer.concat([toServer.parse('s2', 'SELECT 1'), toServer.sync()]));
    await waitFor(() => c.messages.filter((m) => m.type === 'Z').length >= 2);
    c.send(toServer.query('DEALLOCATE s2; PREPARE s2 AS DELETE FROM audit_scratch'));
    await waitFor(() => c.messages.filter((m) => m.type === 'Z').length >= 3);
    const mark = c.messages.length;
    c.send(Buffer.concat([toServer.bind({ statement: 's2' }), toServer.execute(), toServer.sync()]));
    await waitFor(() => c.messages.slice(mark).some((m) => m.type === 'Z'));
    expect(noticeOrError(c, mark)).toEqual([expect.stringMatching(/^E:42501:blocked by Vigil policy rule "ci\/unlisted": EXECUTE \(unknown\) is not allowed/)]);
    expect(f.pg.psql('SELECT count(*) FROM audit_scratch', { database: 'payments' }).trim()).toBe('0');
    c.close();
  });

});
