/**
 * A bot can make one recorded event larger than an archive frame may be (16 MiB of plaintext): every bind
 * parameter is recorded up to 64 KiB, and a Bind may carry thousands of them. Written whole, that event
 * makes the frame unreadable — the whole archive, every earlier statement with it, fails verification:
 * a bot could erase its own evidence by sending one big statement.
 *
 * Expected: the statement is refused before it reaches the target (fail closed: it cannot be recorded), the
 * session goes on or ends with a clear error, and the archive stays readable and verifies, saying what was
 * refused and why.
 */
import { describe, expect } from 'vitest';
import { Adversary, RW, attackSuite, commands, decisionsOf, policies, useAdversary } from './harness.ts';

const adv: Adversary = useAdversary({
  policies: policies({}),
});
const { attack, evidenceSuite } = attackSuite(adv);

const PARAMS = 300;
const VALUE = 'x'.repeat(60 * 1024);

describe('one event larger than a frame', () => {
  attack(
    `${PARAMS} bind parameters of 60 KiB (18 MiB recorded): refused before the target, evidence readable`,
    async () => {
      const c = await adv.client(`${PARAMS} bind parameters of 60 KiB (18 MiB recorded): refused before the target, evidence readable`, RW);
      await c.q('SELECT 1 AS before_the_big_one');
      const values = Array.from({ length: PARAMS }, () => VALUE);
      const placeholders = values.map((_, i) => `($${i + 1})`).join(', ');
      const r = await c.q(`INSERT INTO audit_scratch (v) VALUES ${placeholders}`, values);
      expect(r.error, 'the statement is refused').toBeDefined();
      expect(String(r.error?.message)).toMatch(/too large to record/);
      expect(adv.sql('SELECT count(*) FROM audit_scratch WHERE length(v) > 1000'), 'nothing reached the target').toBe('0');
    },
    (evs) => {
      const cmds = commands(evs);
      expect(cmds.some((e) => e.text === 'SELECT 1 AS before_the_big_one'), 'the earlier statement is still in the readable archive').toBe(true);
      // The Parse (sql-prepare, no parameters) was allowed; the Execute, with its 300 parameters, is the command.
      const big = cmds.find((e) => e.kind === 'sql' && String(e.text).startsWith('INSERT INTO audit_scratch'));
      expect(big, 'the refused statement is recorded (without its parameters)').toBeDefined();
      expect(big!.params).toBeUndefined();
      expect(big!.fieldsOmitted).toBe(true);
      expect(decisionsOf(evs, big!.id)).toEqual(['block']);
      const d = evs.find((e) => e.type === 'decision' && e.command === big!.id)!;
      expect(d.rule).toBe('vigil/evidence-size');
      expect(String(d.reason)).toMatch(/too large to record/);
    },
    120_000,
  );
});

evidenceSuite();
