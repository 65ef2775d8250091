/**
 * PostgreSQL describes each statement to the protocol-neutral policy engine as facts: its relations as
 * `objects`, its `database` and `queryMode` as attributes. A policy written in the new form (classes:,
 * objects, attributes, protocols, postgres:) governs a real session.
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
    rules:
      - name: ssh-only
        when: { protocols: [ssh] }
        action: block
      - name: no-extended-accounts
        when: { objects: ['public.accounts'], attributes: { database: [pay*], queryMode: [extended] } }
        action: block
        reason: accounts only through simple queries
    classes: { read: allow, session: allow, transaction: allow, default: block }
    postgres: { allowStartupOptions: false, masking: { derivedPan: block } }
`,
  });
}, 120_000);
afterAll(async () => {
  await f?.stop();
});

const errors = (c: Awaited<ReturnType<typeof rawLogin>>, from: number) =>
  c.messages.slice(from).flatMap((m) => (m.type === 'E' ? [`${m.fields.get('C')}:${m.fields.get('M')}`] : []));

async function waitFor(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
}

describe('PostgreSQL facts under a neutral policy', () => {
  it('a rule on objects and attributes tells a simple Query from an extended Parse; a rule for ssh never applies', async () => {
    const c = await rawLogin(f.port, await f.token());
    const zs = () => c.messages.filter((m) => m.type === 'Z').length;
    const start = zs();
    let mark = c.messages.length;
    c.send(toServer.query('SELECT count(*) FROM accounts'));
    await waitFor(() => zs() > start);
    expect(errors(c, mark)).toEqual([]);
    mark = c.messages.length;
    c.send(Buffer.concat([toServer.parse('', 'SELECT count(*) FROM accounts'), toServer.bind({}), toServer.execute(), toServer.sync()]));
    await waitFor(() => zs() > start + 1);
    expect(errors(c, mark)).toEqual([expect.stringMatching(/^42501:blocked by Vigil policy rule "ci\/no-extended-accounts": accounts only through simple queries/)]);
    mark = c.messages.length;
    c.send(Buffer.concat([toServer.parse('', 'SELECT count(*) FROM customers'), toServer.bind({}), toServer.execute(), toServer.sync()]));
    await waitFor(() => zs() > start + 2);
    expect(errors(c, mark)).toEqual([]);
    c.close();
  });

  it('postgres.masking.derivedPan: block refuses a computed card number', async () => {
    const c = await rawLogin(f.port, await f.token());
    const mark = c.messages.length;
    c.send(toServer.query("SELECT card_number || '' FROM customers"));
    await waitFor(() => c.messages.slice(mark).some((m) => m.type === 'Z'));
    expect(errors(c, mark)).toEqual([expect.stringMatching(/^42501:.*postgres\.masking\.derivedPan: block/)]);
    c.close();
  });
});
