/**
 * Client compatibility under the same rules (not an attack): what clients legitimately send at startup must
 * reach the server or be refused clearly — never silently dropped — and the session must survive a
 * refused SET standard_conforming_strings.
 *
 * The server runs with log_statement = all here, so "never reached the server" is checked in its log.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer as T } from '../../appliance/protocols/postgres/wire/index.ts';
import { Adversary, RO, RW, attackSuite, commands, errorsOf, resultsOf, rowsOf, useAdversary } from './harness.ts';

const adv: Adversary = useAdversary({
  beforeStart: (pg) => {
    pg.psql("ALTER SYSTEM SET log_statement = 'all'");
    pg.psql('SELECT pg_reload_conf()');
    pg.psql(
      `CREATE FUNCTION scs_off() RETURNS text LANGUAGE sql AS $$ SELECT set_config('standard_conforming_strings', 'off', false) $$;
       GRANT EXECUTE ON FUNCTION scs_off() TO svc_reporting;`,
      { database: 'payments' },
    );
  },
});
const { attack, evidenceSuite } = attackSuite(adv);

const notDropped = (name: string) => (evs: EvidenceEvent[]) => {
  const dropped = evs.filter((e) => e.type === 'notice' && e.kind === 'startup-parameters-dropped').flatMap((e) => (e.names as string[]) ?? []);
  expect(dropped, 'recorded as silently dropped').not.toContain(name);
};

describe('timeouts sent at startup reach the server', () => {
  const cases = [
    { param: 'statement_timeout', value: '3000', shown: '3s' },
    { param: 'lock_timeout', value: '2500', shown: '2500ms' },
    { param: 'idle_in_transaction_session_timeout', value: '4000', shown: '4s' },
  ];
  for (const k of cases) {
    attack(
      `startup ${k.param}=${k.value}`,
      async () => {
        // RW: its policy allows the class resource, which pg_sleep is.
        const c = await adv.raw(`startup ${k.param}=${k.value}`, RW, { [k.param]: k.value });
        expect(c.ready).toBe(true);
        expect(rowsOf(await c.exchange(T.query(`SHOW ${k.param}`)))).toEqual([[k.shown]]);
        if (k.param === 'statement_timeout') {
          const t0 = Date.now();
          const m = await c.exchange(T.query('SELECT pg_sleep(5)'), 1, 8_000);
          const ms = Date.now() - t0;
          expect(errorsOf(m).map((e) => e.code)).toEqual(['57014']);
          expect(ms).toBeGreaterThanOrEqual(2_500);
          expect(ms).toBeLessThan(4_500);
        }
      },
      notDropped(k.param),
      20_000,
    );
  }

  attack(
    'node-postgres statement_timeout: 3000',
    async () => {
      const c = await adv.client('node-postgres statement_timeout: 3000', RO, { statement_timeout: 3000 });
      expect((await c.q('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '3s' }]);
    },
    notDropped('statement_timeout'),
  );
});

describe('an unsupported startup parameter is refused clearly', () => {
  attack(
    'startup vigil_adv_unknown=1',
    async () => {
      const c = await adv.raw('startup vigil_adv_unknown=1', RO, { vigil_adv_unknown: '1' });
      expect(c.ready, 'never silently dropped').toBe(false);
      expect(errorsOf(c.messages)).toEqual([{ code: '0A000', severity: 'FATAL', message: expect.stringContaining('vigil_adv_unknown') }]);
    },
    (evs) => expect(evs.filter((e) => e.type === 'error').map((e) => e.code)).toContain('0A000'),
  );

  attack(
    'startup myapp.tenant=7 (a custom setting PostgreSQL accepts)',
    async () => {
      const c = await adv.raw('startup myapp.tenant=7 (a custom setting PostgreSQL accepts)', RO, { 'myapp.tenant': '7' });
      // Either forwarded (the server has it) or refused naming it; never dropped without a word.
      if (c.ready) expect(rowsOf(await c.exchange(T.query("SELECT current_setting('myapp.tenant', true)")))).toEqual([['7']]);
      else expect(errorsOf(c.messages)).toEqual([{ code: '0A000', severity: 'FATAL', message: expect.stringContaining('myapp.tenant') }]);
    },
    notDropped('myapp.tenant'),
  );
});

describe('standard_conforming_strings stays on, and the session survives the attempt', () => {
  for (const sql of ['SET standard_conforming_strings TO off', "SELECT set_config('standard_conforming_strings', 'off', false)"]) {
    attack(
      sql,
      async () => {
        const before = adv.f.pg.log().length;
        const c = await adv.raw(sql, RO);
        const m = await c.exchange(T.query(sql));
        const after = await c.exchange(T.query('SELECT 1'));
        await new Promise((r) => setTimeout(r, 100));
        expect.soft(errorsOf(m)).toEqual([{ code: '0A000', severity: 'ERROR', message: expect.stringContaining('standard_conforming_strings') }]);
        expect(rowsOf(after), 'the session continues').toEqual([['1']]);
        expect(adv.f.pg.log().slice(before), 'the statement never reached the server').not.toContain('standard_conforming_strings');
      },
      (evs) => {
        const cmd = commands(evs).find((e) => e.text === sql);
        expect(cmd).toBeDefined();
        expect(evs.filter((e) => e.type === 'error' && e.command === cmd!.id).map((e) => e.code)).toEqual(['0A000']);
        expect(resultsOf(evs, cmd!.id)).toEqual([]);
      },
    );
  }

  attack(
    'a function that turns standard_conforming_strings off: the session is stopped',
    async () => {
      // RW: a user-defined function counts as a write, which RO would hold for approval.
      const c = await adv.raw('a function that turns standard_conforming_strings off: the session is stopped', RW);
      const m = await c.exchange(T.query('SELECT scs_off()'));
      await c.until(() => c.isClosed, 2_000);
      // The gateway cannot see inside the function; once the server reports the change it must stop.
      expect(errorsOf(m)).toEqual([{ code: '0A000', severity: 'FATAL', message: expect.stringContaining('standard_conforming_strings') }]);
      expect(c.isClosed).toBe(true);
    },
    (evs) => expect(evs.filter((e) => e.type === 'error').map((e) => e.code)).toContain('0A000'),
  );
});

evidenceSuite();
