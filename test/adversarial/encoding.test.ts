/**
 * Attack class 1 — the classifier and the server read different bytes.
 *
 * Vigil classifies SQL as UTF-8. PostgreSQL converts every message from the session's client_encoding
 * first. In the client-only encodings (SJIS, GBK, BIG5, GB18030, SHIFT_JIS_2004…) a lead byte followed by
 * 0x5C is ONE character, so the server swallows the backslash of `E'<lead>\'`: the string ends early and
 * what followed it runs. The classifier sees a harmless SELECT of one long string.
 *
 * Expected: every way to get a non-UTF8 client encoding is refused (startup → FATAL 0A000; SET / RESET /
 * set_config → ERROR 0A000 and the session continues), invalid UTF-8 is 22021 before reaching the server,
 * the victim table survives, and the evidence records the refusal and never a result of the DROP.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer } from '../../appliance/protocols/postgres/wire/index.ts';
import { Adversary, RO, RW, attackSuite, commands, errorsOf, policies, rawParse, rawQuery, rowsOf, useAdversary, type Raw } from './harness.ts';

const OPT = { repository: 'acme-opt/x' };

const adv: Adversary = useAdversary({
  policies: policies({
    more: `  - name: opt
    match: { subjects: ['repo:acme-opt/*'] }
    targets: [payments]
    statements: { read: allow, session: allow, transaction: allow, default: block }
    allowStartupOptions: true
`,
  }),
  beforeStart: (pg) => {
    pg.psql(
      `CREATE SCHEMA ops;
       CREATE FUNCTION enc_sjis() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT set_config('client_encoding', 'SJIS', false) $$;
       GRANT EXECUTE ON FUNCTION enc_sjis() TO svc_reporting;
       CREATE VIEW settings_v AS SELECT name, setting FROM pg_settings;
       CREATE VIEW ops.settings_v2 AS SELECT * FROM public.settings_v;
       GRANT SELECT, UPDATE ON settings_v TO svc_reporting;
       GRANT USAGE ON SCHEMA ops TO svc_reporting;
       GRANT SELECT, UPDATE ON ops.settings_v2 TO svc_reporting;`,
      { database: 'payments' },
    );
  },
});
const { attack, evidenceSuite } = attackSuite(adv);

/** A fresh table the target role owns (so it could drop it), named for one attack. */
function victim(name: string): string {
  const t = `victim_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
  adv.sql(`DROP TABLE IF EXISTS ${t}; CREATE TABLE ${t} (x int); ALTER TABLE ${t} OWNER TO svc_reporting`);
  return t;
}
const exists = (t: string) => adv.sql(`SELECT to_regclass('public.${t}') IS NOT NULL`) === 't';

/** `SELECT E'<lead>\'; DROP TABLE t; --'` as the bytes an SJIS/GBK/BIG5… client sends. */
function swallow(lead: number, table: string): Buffer {
  return Buffer.concat([Buffer.from("SELECT E'"), Buffer.from([lead]), Buffer.from(`\\'; DROP TABLE ${table}; --'`)]);
}

/** Client encodings PostgreSQL accepts for a client but never as a server encoding; lead byte that swallows 0x5C. */
const MULTIBYTE: { enc: string; lead: number | undefined; note?: string }[] = [
  { enc: 'SJIS', lead: 0x95 },
  { enc: 'GBK', lead: 0x95 },
  { enc: 'BIG5', lead: 0xa5 },
  { enc: 'GB18030', lead: 0x95 },
  { enc: 'SHIFT_JIS_2004', lead: 0x95 },
  // PostgreSQL 15 accepts no lead+0x5C pair in UHC (trail bytes are letters) nor JOHAB (trail bytes are
  // high-bit): no swallow, but the server still reads bytes differently from the classifier.
  { enc: 'UHC', lead: undefined, note: 'B0 41' },
  { enc: 'JOHAB', lead: undefined, note: '84 A1' },
];

/** The attack evidence must show: a refusal (error 0A000), and never a result of a DROP. */
function refusedNoDrop(codes = ['0A000']) {
  return (evs: EvidenceEvent[]) => {
    expect(evs.filter((e) => e.type === 'result' && typeof e.tag === 'string' && /^DROP/.test(e.tag)), 'a recorded result of the DROP').toEqual([]);
    expect(evs.filter((e) => e.type === 'error' && codes.includes(String(e.code))).length, `an error ${codes.join('/')} recorded`).toBeGreaterThan(0);
  };
}

const noticesAndErrors = (c: Raw) => errorsOf(c.messages);

describe('startup in a client-only multibyte encoding', () => {
  for (const { enc, lead, note } of MULTIBYTE) {
    attack(
      `startup client_encoding=${enc}`,
      async () => {
        const t = victim(`startup_${enc}`);
        // Proof on PostgreSQL itself (bypassing Vigil).
        const d = await adv.direct({ client_encoding: enc });
        if (lead !== undefined) {
          const proof = victim(`direct_${enc}`);
          await d.exchange(rawQuery(swallow(lead, proof)));
          expect(exists(proof), `PostgreSQL 15 in ${enc} runs the swallowed DROP`).toBe(false);
        } else {
          const bytes = Buffer.from(note!.split(' ').map((h) => parseInt(h, 16)));
          const m = await d.exchange(rawQuery(Buffer.concat([Buffer.from("SELECT length('"), bytes, Buffer.from("')")])));
          expect(rowsOf(m), `PostgreSQL reads ${note} as one ${enc} character`).toEqual([['1']]);
        }
        d.close();
        // Through Vigil.
        const c = await adv.raw(`startup client_encoding=${enc}`, RO, { client_encoding: enc });
        if (c.ready) await c.exchange(rawQuery(swallow(lead ?? 0x95, t)));
        expect(exists(t), 'the victim table still exists').toBe(true);
        expect(c.ready, 'the session must not start').toBe(false);
        expect(noticesAndErrors(c)).toEqual([{ code: '0A000', severity: 'FATAL', message: expect.stringMatching(/UTF8|UTF-8/) }]);
      },
      refusedNoDrop(),
    );
  }

  attack(
    'startup options=-c client_encoding=SJIS (policy allows startup options)',
    async () => {
      const t = victim('options_sjis');
      const c = await adv.raw('startup options=-c client_encoding=SJIS (policy allows startup options)', OPT, { options: '-c client_encoding=SJIS' });
      if (c.ready) await c.exchange(rawQuery(swallow(0x95, t)));
      expect(exists(t)).toBe(true);
      expect(c.ready).toBe(false);
      expect(noticesAndErrors(c)).toEqual([{ code: '0A000', severity: 'FATAL', message: expect.stringMatching(/UTF8|client_encoding/) }]);
    },
    refusedNoDrop(),
  );

  attack(
    'role default client_encoding=SJIS, client names none',
    async () => {
      const t = victim('role_default');
      adv.sql(`ALTER ROLE svc_reporting IN DATABASE payments SET client_encoding = 'SJIS'`);
      try {
        // Proof: a client that does not send client_encoding gets the role's default.
        const d = await adv.direct();
        expect(d.parameters?.get('client_encoding')).toBe('SJIS');
        d.close();
        const c = await adv.raw('role default client_encoding=SJIS, client names none', RO, {});
        let encoding: string | undefined;
        if (c.ready) {
          const m = await c.exchange(toServer.query('SHOW client_encoding'));
          encoding = rowsOf(m)[0]?.[0] ?? undefined;
          await c.exchange(rawQuery(swallow(0x95, t)));
        }
        expect(exists(t)).toBe(true);
        // Either the session is refused (FATAL 0A000) or it runs in UTF8 whatever the server's default.
        if (c.ready) expect(encoding).toBe('UTF8');
        else expect(noticesAndErrors(c)).toEqual([{ code: '0A000', severity: 'FATAL', message: expect.stringMatching(/UTF8|client_encoding/) }]);
      } finally {
        adv.sql(`ALTER ROLE svc_reporting IN DATABASE payments RESET client_encoding`);
      }
    },
    (evs) => expect(evs.filter((e) => e.type === 'result' && typeof e.tag === 'string' && /^DROP/.test(e.tag))).toEqual([]),
  );
});

describe('changing client_encoding inside the session', () => {
  const VARIANTS: { name: string; sql: string; enc: string }[] = [
    { name: "SET client_encoding TO 'SJIS'", sql: "SET client_encoding TO 'SJIS'", enc: 'SJIS' },
    { name: "SET NAMES 'GBK'", sql: "SET NAMES 'GBK'", enc: 'GBK' },
    { name: "SET SESSION client_encoding = 'BIG5'", sql: "SET SESSION client_encoding = 'BIG5'", enc: 'BIG5' },
    { name: 'SET "CLIENT_ENCODING" TO sjis (quoted, lower-case value)', sql: 'SET "client_encoding" TO sjis', enc: 'SJIS' },
    { name: "SELECT set_config('client_encoding','BIG5',false)", sql: "SELECT set_config('client_encoding','BIG5',false)", enc: 'BIG5' },
    { name: "SELECT pg_catalog.set_config('CLIENT_ENCODING','SJIS',false)", sql: "SELECT pg_catalog.set_config('CLIENT_ENCODING','SJIS',false)", enc: 'SJIS' },
  ];
  const LEAD: Record<string, number> = { SJIS: 0x95, GBK: 0x95, BIG5: 0xa5 };

  for (const v of VARIANTS) {
    attack(
      v.name,
      async () => {
        const t = victim(v.name.slice(0, 20) + v.enc);
        const proof = victim(`direct_${v.name.slice(0, 20)}`);
        const d = await adv.direct();
        await d.exchange(toServer.query(v.sql));
        await d.exchange(rawQuery(swallow(LEAD[v.enc]!, proof)));
        expect(exists(proof), 'on PostgreSQL the DROP runs after the encoding change').toBe(false);
        d.close();

        const c = await adv.raw(v.name);
        const set = await c.exchange(toServer.query(`/* atk */ ${v.sql}`));
        await c.exchange(rawQuery(swallow(LEAD[v.enc]!, t)));
        const after = await c.exchange(toServer.query('SELECT 1 AS alive'));
        expect(exists(t), 'the victim table still exists').toBe(true);
        expect(errorsOf(set)).toEqual([{ code: '0A000', severity: 'ERROR', message: expect.stringMatching(/UTF8|client_encoding/) }]);
        expect(rowsOf(after), 'the session continues').toEqual([['1']]);
      },
      (evs) => {
        const cmd = commands(evs).find((e) => typeof e.text === 'string' && e.text.includes(v.sql));
        expect(cmd, 'the SET is recorded').toBeDefined();
        expect(evs.filter((e) => e.type === 'result' && e.command === cmd!.id), 'no result for the refused SET').toEqual([]);
        expect(evs.filter((e) => e.type === 'error' && e.command === cmd!.id).map((e) => e.code)).toEqual(['0A000']);
        expect(evs.filter((e) => e.type === 'result' && typeof e.tag === 'string' && /^DROP/.test(e.tag))).toEqual([]);
      },
    );
  }

  attack(
    "BEGIN; SET LOCAL client_encoding TO 'SJIS'",
    async () => {
      const t = victim('set_local');
      const proof = victim('direct_set_local');
      const d = await adv.direct();
      await d.exchange(toServer.query('BEGIN'));
      await d.exchange(toServer.query("SET LOCAL client_encoding TO 'SJIS'"));
      await d.exchange(rawQuery(swallow(0x95, proof)));
      await d.exchange(toServer.query('COMMIT'));
      expect(exists(proof)).toBe(false);
      d.close();
      const c = await adv.raw("BEGIN; SET LOCAL client_encoding TO 'SJIS'");
      await c.exchange(toServer.query('BEGIN'));
      const set = await c.exchange(toServer.query("SET LOCAL client_encoding TO 'SJIS'"));
      await c.exchange(rawQuery(swallow(0x95, t)));
      await c.exchange(toServer.query('COMMIT'));
      const after = await c.exchange(toServer.query('SELECT 1'));
      expect(exists(t)).toBe(true);
      expect(errorsOf(set)).toEqual([{ code: '0A000', severity: 'ERROR', message: expect.stringMatching(/UTF8|client_encoding/) }]);
      expect(rowsOf(after)).toEqual([['1']]);
    },
    refusedNoDrop(),
  );

  // Harmless on PostgreSQL 15 when the startup packet named UTF8 (RESET returns to the startup value), but a
  // gateway that forced UTF8 with a SET after login instead would be undone by it: refused by design.
  for (const sql of ['RESET client_encoding', 'SET client_encoding = DEFAULT']) {
    attack(
      sql,
      async () => {
        const c = await adv.raw(sql, RO, { client_encoding: 'UTF8' });
        const r = await c.exchange(toServer.query(sql));
        const after = await c.exchange(toServer.query('SHOW client_encoding'));
        expect(errorsOf(r)).toEqual([{ code: '0A000', severity: 'ERROR', message: expect.stringMatching(/UTF8|client_encoding/) }]);
        expect(rowsOf(after)).toEqual([['UTF8']]);
      },
      refusedNoDrop(),
    );
  }
});

describe('invalid UTF-8 never reaches the server', () => {
  const BAD: { name: string; bytes: number[] }[] = [
    { name: 'a lone 0x95', bytes: [0x95] },
    { name: 'overlong 0xC0 0xAF', bytes: [0xc0, 0xaf] },
    { name: 'a UTF-16 surrogate in UTF-8 (ED A0 80)', bytes: [0xed, 0xa0, 0x80] },
  ];
  for (const how of ['Query', 'Parse'] as const) {
    for (const b of BAD) {
      const name = `${how} with ${b.name}`;
      attack(
        name,
        async () => {
          const marker = `inv${Math.random().toString(36).slice(2, 10)}`;
          const sql = Buffer.concat([Buffer.from(`SELECT '${marker}`), Buffer.from(b.bytes), Buffer.from("'")]);
          const before = adv.f.pg.log().length;
          const c = await adv.raw(name);
          const m = how === 'Query' ? await c.exchange(rawQuery(sql)) : await c.exchange([rawParse('', sql), toServer.bind({}), toServer.execute(), toServer.sync()]);
          const after = await c.exchange(toServer.query('SELECT 1'));
          await new Promise((r) => setTimeout(r, 100));
          const serverSaw = adv.f.pg.log().slice(before);
          expect(errorsOf(m)).toEqual([{ code: '22021', severity: 'ERROR', message: expect.stringMatching(/UTF8|UTF-8/) }]);
          expect(rowsOf(after)).toEqual([['1']]);
          expect(serverSaw, 'the server must never see the bytes (its log shows its own 22021)').not.toMatch(/invalid byte sequence for encoding "UTF8"/);
        },
        (evs) => {
          expect(evs.filter((e) => e.type === 'error').map((e) => e.code)).toContain('22021');
          const bad = commands(evs).filter((c) => String(c.text).includes("SELECT 'inv"));
          expect(evs.filter((e) => e.type === 'result' && bad.some((c) => c.id === e.command)), 'no result for the invalid text').toEqual([]);
        },
      );
    }
  }
});

describe('the race: the encoding changes inside a statement, the attack is already on its way', () => {
  attack(
    'enc_sjis() then the attack, in one TCP write (simple queries, write-allowed policy)',
    async () => {
      const t = victim('race_simple');
      const proof = victim('direct_race_simple');
      const d = await adv.direct();
      await d.exchange([toServer.query('SELECT enc_sjis()'), rawQuery(swallow(0x95, proof))], 2);
      expect(exists(proof), 'on PostgreSQL the second query is read as SJIS').toBe(false);
      d.close();
      const c = await adv.raw('enc_sjis() then the attack, in one TCP write (simple queries, write-allowed policy)', RW);
      await c.exchange([toServer.query('SELECT enc_sjis()'), rawQuery(swallow(0x95, t))], 2);
      expect(exists(t), 'the victim table still exists').toBe(true);
      const errors = errorsOf(c.messages);
      // Either the session was stopped (FATAL) or the second query was refused.
      expect(errors.some((e) => e.code === '0A000' || e.code === '22021'), JSON.stringify(errors)).toBe(true);
    },
    refusedNoDrop(['0A000', '22021']),
  );

  attack(
    'enc_sjis() then the attack in one extended-protocol pipeline',
    async () => {
      const t = victim('race_extended');
      const proof = victim('direct_race_extended');
      const pipeline = (table: string) => [
        toServer.parse('', 'SELECT enc_sjis()'),
        toServer.bind({}),
        toServer.execute(),
        rawParse('', swallow(0x95, table)),
        toServer.bind({}),
        toServer.execute(),
        toServer.sync(),
      ];
      const d = await adv.direct();
      const dm = await d.exchange(pipeline(proof));
      d.close();
      const c = await adv.raw('enc_sjis() then the attack in one extended-protocol pipeline', RW);
      await c.exchange(pipeline(t));
      expect(exists(t), 'the victim table still exists').toBe(true);
      // PostgreSQL itself refuses two statements in one Parse (42601), so the extended-protocol race cannot
      // smuggle the DROP; keep it as a guard that the gateway never lets it get further.
      expect(errorsOf(dm).map((e) => e.code)).toContain('42601');
      expect(exists(proof)).toBe(true);
    },
    (evs) => expect(evs.filter((e) => e.type === 'result' && typeof e.tag === 'string' && /^DROP/.test(e.tag))).toEqual([]),
  );
});

describe('UPDATE pg_settings: set_config through the view\'s rule, the attack pipelined behind it', () => {
  // pg_settings has an ON UPDATE rule that calls set_config(name, setting): any role can change its own
  // settings with it, and no function call appears in the statement. The attack bytes are valid UTF-8
  // (C5 81 is U+0141; in SJIS C5 is one character and 81 5C another), so only the pinning protects.
  const sjisAttack = (t: string) => Buffer.concat([Buffer.from("SELECT E'"), Buffer.from([0xc5, 0x81]), Buffer.from(`\\'; DROP TABLE ${t}; --'`)]);
  const scsAttack = (t: string) => Buffer.from(`SELECT 'a\\''; DROP TABLE ${t}; --'`);
  const CASES: { name: string; sql: string; attack: (t: string) => Buffer }[] = [
    { name: "UPDATE pg_settings SET setting = 'SJIS' WHERE name = 'client_encoding'", sql: "UPDATE pg_settings SET setting = 'SJIS' WHERE name = 'client_encoding'", attack: sjisAttack },
    { name: "UPDATE pg_catalog.pg_settings … standard_conforming_strings off", sql: "UPDATE pg_catalog.pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'", attack: scsAttack },
    { name: 'a view over pg_settings (scs off)', sql: "UPDATE settings_v SET setting = 'off' WHERE name = 'standard_conforming_strings'", attack: scsAttack },
    { name: 'a view over a view over pg_settings, in another schema (encoding SJIS)', sql: "UPDATE ops.settings_v2 SET setting = 'SJIS' WHERE name = 'client_encoding'", attack: sjisAttack },
    { name: 'update PG_SETTINGS AS s … FROM (scs off)', sql: "update PG_SETTINGS AS s SET setting = 'off' FROM (SELECT 'standard_conforming_strings' AS n) x WHERE s.name = x.n", attack: scsAttack },
  ];
  for (const k of CASES) {
    attack(
      `${k.name}, then the attack in the same TCP write (write-allowed policy)`,
      async () => {
        const t = victim(`pgs_${k.name.slice(0, 24)}`);
        const proof = victim(`direct_pgs_${k.name.slice(0, 24)}`);
        const d = await adv.direct();
        await d.exchange([toServer.query(k.sql), rawQuery(k.attack(proof))], 2);
        expect(exists(proof), 'on PostgreSQL the pipelined statement is read with the new setting and drops the table').toBe(false);
        d.close();
        const c = await adv.raw(`${k.name}, then the attack in the same TCP write (write-allowed policy)`, RW);
        const m = await c.exchange([toServer.query(`/* atk */ ${k.sql}`), rawQuery(k.attack(t))], 2);
        expect(exists(t), 'the victim table still exists').toBe(true);
        expect(errorsOf(m)[0], 'the settings change is refused').toEqual({ code: '0A000', severity: 'ERROR', message: expect.stringMatching(/pg_settings|setting/) });
        const after = await c.exchange(toServer.query("SELECT current_setting('client_encoding'), current_setting('standard_conforming_strings')"));
        expect(rowsOf(after), 'the session continues, still pinned').toEqual([['UTF8', 'on']]);
      },
      (evs) => {
        const cmd = commands(evs).find((e) => typeof e.text === 'string' && e.text.startsWith('/* atk */'));
        expect(cmd, 'the UPDATE of pg_settings is recorded').toBeDefined();
        expect(evs.filter((e) => e.type === 'decision' && e.command === cmd!.id).map((e) => [e.decision, e.rule])).toEqual([['block', 'vigil/dynamic-setting']]);
        expect(evs.filter((e) => e.type === 'error' && e.command === cmd!.id).map((e) => e.code)).toEqual(['0A000']);
        expect(evs.filter((e) => e.type === 'result' && e.command === cmd!.id), 'no result for the refused UPDATE').toEqual([]);
        expect(evs.filter((e) => e.type === 'result' && typeof e.tag === 'string' && /^DROP/.test(e.tag))).toEqual([]);
      },
    );
  }
});

evidenceSuite();
