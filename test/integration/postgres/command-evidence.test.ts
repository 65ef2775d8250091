/**
 * What the archive says about each command, checked on the decrypted events of a real gateway session:
 * a result's row count is what the server's CommandComplete tag says (as libpq and node-postgres read it),
 * approved commands included; its duration runs from the release to the target, the approval wait apart;
 * every error that belongs to a command names it (blocks, denials, Parse/Bind/Execute errors in a
 * pipeline), and those that belong to none say what they are; no `hold` is left without its request
 * and outcome — a Parse of a statement that needs approval included.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { toServer } from '../../../appliance/protocols/postgres/wire/index.ts';
import { exportAndVerify, startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { rawLogin, type RawClient } from '../../helpers/pg-raw-client.ts';

const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: ['payments*']
    rules:
      - name: accounts-need-approval
        when: { classes: [write], tables: [accounts] }
        action: require-approval
        approvers: { groups: [dba] }
      - name: fastpath-needs-approval
        when: { classes: [procedural], commands: ['FUNCTION CALL'] }
        action: require-approval
        approvers: { groups: [dba] }
      - name: no-truncate
        when: { classes: [ddl], tags: [truncate] }
        action: block
        reason: TRUNCATE is never allowed here
    statements: { read: allow, transaction: allow, session: allow, copy-out: allow, copy-in: allow, write: allow, default: block }
    approvers: { groups: [dba] }
`;

/** How long each approved command waits before its approval. */
const WAIT_MS = 1000;

let f: GatewayFixture;
/** Every decrypted event, with the id of its session (command ids are per session). */
let events: (EvidenceEvent & { sid: string })[] = [];
/** What node-postgres itself read from each CommandComplete tag (its rowCount), by statement text. */
const clientCounts = new Map<string, number | null>();
/** The command ids the client saw refused, by a label. */
const refusals = new Map<string, { code: string | undefined; message: string }>();

function api(path: string, token: string, body: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${f.adminUrl}${path}`, { method: 'POST', ca: readFileSync(f.adminCa), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function decide(id: string, action: 'approve' | 'deny', afterMs: number): Promise<void> {
  await new Promise((r) => setTimeout(r, afterMs));
  const status = await api(`/v1/approvals/${id}/${action}`, await f.staffToken('dave@acme.test', ['dba']), { reason: `test ${action}` });
  expect(status).toBe(200);
}

async function bot(): Promise<{ c: pg.Client; nextRequest: () => Promise<string> }> {
  const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
  await c.connect();
  const waiters: ((id: string) => void)[] = [];
  c.on('notice', (n) => {
    const id = /request (apr_[\w-]+)/.exec(n.message ?? '')?.[1];
    if (id) waiters.shift()?.(id);
  });
  return { c, nextRequest: () => new Promise((r) => waiters.push(r)) };
}

async function run(c: pg.Client, sql: string, params?: unknown[]): Promise<void> {
  const r = await c.query(sql, params);
  clientCounts.set(sql, r.rowCount);
}

async function refused(label: string, p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    refusals.set(label, { code: (e as { code?: string }).code, message: (e as Error).message });
    return;
  }
  throw new Error(`${label}: expected the statement to fail`);
}

/** Sends messages, then waits for the ReadyForQuery that answers the last Sync. */
async function exchange(c: RawClient, ...messages: Buffer[]): Promise<void> {
  const before = c.messages.filter((m) => m.type === 'Z').length;
  c.send(Buffer.concat(messages));
  for (let i = 0; i < 200 && c.messages.filter((m) => m.type === 'Z').length <= before; i++) await new Promise((r) => setTimeout(r, 25));
}

beforeAll(async () => {
  f = await startGatewayFixture({ policies: POLICIES });
  const b = await bot();
  // Held and approved, simple protocol and extended (held at Execute, with its parameters).
  let requested = b.nextRequest();
  const simple = run(b.c, 'UPDATE accounts SET balance = balance + 1 WHERE id IN (1, 2)');
  await decide(await requested, 'approve', WAIT_MS);
  await simple;
  requested = b.nextRequest();
  const extended = run(b.c, 'UPDATE accounts SET status = $1 WHERE id <= 3', ['held']);
  await decide(await requested, 'approve', WAIT_MS);
  await extended;
  // Tags with counts, no approval needed.
  await run(b.c, "INSERT INTO audit_scratch (v) VALUES ('a'), ('b'), ('c')");
  await run(b.c, "DELETE FROM audit_scratch WHERE v IN ('a', 'b')");
  await run(b.c, 'SELECT id FROM accounts WHERE id <= 4');
  await run(b.c, "MERGE INTO audit_scratch t USING (VALUES ('c'), ('d')) AS s(v) ON t.v = s.v WHEN NOT MATCHED THEN INSERT (v) VALUES (s.v)");
  await run(b.c, 'UPDATE audit_scratch SET v = $1 WHERE v = $2', ['c2', 'c']);
  // Refused: denied (simple and extended), blocked; failed at Parse and at Execute in the extended protocol.
  requested = b.nextRequest();
  const denied = refused('denied-simple', b.c.query('DELETE FROM accounts WHERE id = 100'));
  await decide(await requested, 'deny', 0);
  await denied;
  requested = b.nextRequest();
  const deniedExt = refused('denied-extended', b.c.query('DELETE FROM accounts WHERE id = $1', [99]));
  await decide(await requested, 'deny', 0);
  await deniedExt;
  await refused('blocked', b.c.query('TRUNCATE audit_scratch'));
  await refused('parse-error', b.c.query('SELECT * FROM no_such_table WHERE id = $1', [1]));
  await refused('execute-error', b.c.query('SELECT 1 / $1::int AS x', [0]));
  await b.c.end();

  // COPY out and in: tags "COPY n".
  const copyOut = await f.psql('COPY (SELECT id FROM accounts WHERE id <= 5) TO STDOUT');
  expect(copyOut.stdout.trim().split('\n')).toEqual(['1', '2', '3', '4', '5']);
  const copyIn = await f.psql('COPY audit_scratch (v) FROM STDIN', { input: 'x\ny\n' });
  expect(copyIn.code).toBe(0);

  // The extended protocol, message by message.
  const raw = await rawLogin(f.port, await f.token());
  // A Bind the server refuses (one parameter missing), in a pipeline with its Execute.
  await exchange(raw, toServer.parse('s1', 'SELECT $1::int AS v'), toServer.bind({ statement: 's1', params: [] }), toServer.execute(), toServer.sync());
  // The same Bind, flushed before any Execute is sent.
  const errors = raw.messages.filter((m) => m.type === 'E').length;
  raw.send(Buffer.concat([toServer.parse('s2', 'SELECT $1::int AS w'), toServer.bind({ statement: 's2', params: [] }), toServer.flush()]));
  for (let i = 0; i < 200 && raw.messages.filter((m) => m.type === 'E').length === errors; i++) await new Promise((r) => setTimeout(r, 25));
  await exchange(raw, toServer.sync());
  // A statement Vigil cannot parse: the server's own syntax error.
  await exchange(raw, toServer.parse('', 'SELEC 1'), toServer.bind(), toServer.execute(), toServer.sync());
  // A Parse policy blocks.
  await exchange(raw, toServer.parse('', 'TRUNCATE audit_scratch'), toServer.sync());
  // A Parse of a statement that needs approval, executed later and approved.
  await exchange(raw, toServer.parse('upd', "UPDATE accounts SET status = 'parsed' WHERE id = 9"), toServer.sync());
  const notices = raw.messages.length;
  raw.send(Buffer.concat([toServer.bind({ statement: 'upd' }), toServer.execute(), toServer.sync()]));
  let held: string | undefined;
  for (let i = 0; i < 400 && !held; i++) {
    await new Promise((r) => setTimeout(r, 25));
    const n = raw.messages.slice(notices).find((m) => m.type === 'N');
    held = n && n.type === 'N' ? /request (apr_[\w-]+)/.exec(n.fields.get('M') ?? '')?.[1] : undefined;
  }
  expect(held).toBeDefined();
  await decide(held!, 'approve', 0);
  await raw.waitFor('C');
  // A Parse of a statement that needs approval, never executed.
  await exchange(raw, toServer.parse('never', 'DELETE FROM accounts WHERE id = 10'), toServer.sync());
  // A fastpath function call: it needs approval, which the protocol gives no way to wait for: refused.
  await exchange(raw, toServer.functionCall(1, []));
  // A protocol violation ends the session: an error of no command.
  raw.send(Buffer.from([0x7a, 0, 0, 0, 4]));
  await raw.closed;

  // A session refused at startup (no policy grants this target).
  await f.psql('SELECT 1', { database: 'no-such-target' });

  await f.gateway.stop();
  const exported = await exportAndVerify(f);
  expect(exported.report.ok).toBe(true);
  events = [...exported.sessions].flatMap(([sid, evs]) => evs.map((e) => ({ ...e, sid })));
  await f.pg.stop();
}, 240_000);

type Ev = (typeof events)[number];
const commandOf = (text: string, kind = 'sql') => events.find((e) => e.type === 'command' && e.text === text && e.kind === kind);
/** Events of `type` about command `cmd` (in its own session). */
const about = (cmd: Ev | undefined, type?: string) => events.filter((e) => cmd && e.sid === cmd.sid && e.command === cmd.id && (!type || e.type === type));
const resultsOf = (cmd: Ev | undefined) => about(cmd, 'result');
const errorsOf = (cmd: Ev | undefined) => about(cmd, 'error');

describe('result events', () => {
  it("carry the row count of the server's CommandComplete tag, as node-postgres reads it", () => {
    expect(clientCounts.size).toBeGreaterThanOrEqual(7);
    for (const [sql, count] of clientCounts) {
      const cmd = events.find((e) => e.type === 'command' && e.text === sql && e.kind === 'sql');
      const [result] = resultsOf(cmd);
      expect({ sql, tag: result?.tag, rowCount: result?.rowCount }).toEqual({ sql, tag: expect.stringMatching(/ \d+$/), rowCount: count });
    }
  });

  it('an approved UPDATE says UPDATE n and rowCount n, simple and extended', () => {
    const simple = resultsOf(commandOf('UPDATE accounts SET balance = balance + 1 WHERE id IN (1, 2)'));
    expect(simple).toEqual([expect.objectContaining({ tag: 'UPDATE 2', rowCount: 2, rowsOmitted: 0 })]);
    const extended = resultsOf(commandOf('UPDATE accounts SET status = $1 WHERE id <= 3'));
    expect(extended).toEqual([expect.objectContaining({ tag: 'UPDATE 3', rowCount: 3, rowsOmitted: 0 })]);
  });

  it('DELETE, INSERT, SELECT, MERGE and COPY (out and in) counts', () => {
    const count = (text: string) => resultsOf(commandOf(text)).map((r) => [r.tag, r.rowCount]);
    expect(count("INSERT INTO audit_scratch (v) VALUES ('a'), ('b'), ('c')")).toEqual([['INSERT 0 3', 3]]);
    expect(count("DELETE FROM audit_scratch WHERE v IN ('a', 'b')")).toEqual([['DELETE 2', 2]]);
    expect(count('SELECT id FROM accounts WHERE id <= 4')).toEqual([['SELECT 4', 4]]);
    expect(count("MERGE INTO audit_scratch t USING (VALUES ('c'), ('d')) AS s(v) ON t.v = s.v WHEN NOT MATCHED THEN INSERT (v) VALUES (s.v)")).toEqual([['MERGE 1', 1]]);
    expect(count('COPY (SELECT id FROM accounts WHERE id <= 5) TO STDOUT')).toEqual([['COPY 5', 5]]);
    // COPY FROM STDIN: the data the client sent, then the server's count.
    const copyIn = resultsOf(commandOf('COPY audit_scratch (v) FROM STDIN'));
    expect(copyIn.map((r) => [r.status, r.tag, r.rowCount])).toEqual([
      ['copy-in', undefined, undefined],
      ['ok', 'COPY 2', 2],
    ]);
  });

  it('of a held command: durationMs from its release to the target, heldMs the approval wait', () => {
    for (const text of ['UPDATE accounts SET balance = balance + 1 WHERE id IN (1, 2)', 'UPDATE accounts SET status = $1 WHERE id <= 3']) {
      const cmd = commandOf(text)!;
      const [result] = resultsOf(cmd);
      const approved = about(cmd, 'decision').find((e) => e.decision === 'approved')!;
      expect(result!.heldMs as number).toBeGreaterThanOrEqual(WAIT_MS);
      expect(result!.durationMs as number).toBeLessThan(WAIT_MS);
      // Released after the approval was recorded (times in ms since the session started).
      expect(result!.t - (result!.durationMs as number)).toBeGreaterThanOrEqual(approved.t - 1);
    }
  });

  it('of a command that was not held: no heldMs', () => {
    const [result] = resultsOf(commandOf('SELECT id FROM accounts WHERE id <= 4'));
    expect(result).not.toHaveProperty('heldMs');
    expect(result!.durationMs as number).toBeGreaterThan(0);
  });
});

describe('error events', () => {
  it('of a denial (simple and extended) and a block name their command', () => {
    expect(refusals.get('denied-simple')?.code).toBe('42501');
    expect(errorsOf(commandOf('DELETE FROM accounts WHERE id = 100'))).toEqual([expect.objectContaining({ code: '42501', message: expect.stringMatching(/denied by dave@acme\.test/) })]);
    expect(errorsOf(commandOf('DELETE FROM accounts WHERE id = $1'))).toEqual([expect.objectContaining({ code: '42501', message: expect.stringMatching(/denied by dave@acme\.test/) })]);
    expect(errorsOf(commandOf('TRUNCATE audit_scratch'))).toEqual([expect.objectContaining({ code: '42501' })]);
    expect(errorsOf(commandOf('TRUNCATE audit_scratch', 'sql-prepare'))).toEqual([expect.objectContaining({ code: '42501' })]);
    const fastpath = commandOf('<fastpath function call>')!;
    expect(about(fastpath, 'decision')).toEqual([expect.objectContaining({ decision: 'block', rule: 'ci/fastpath-needs-approval', reason: expect.stringMatching(/cannot be held for approval/) })]);
    expect(errorsOf(fastpath)).toEqual([expect.objectContaining({ code: '42501', message: expect.stringMatching(/cannot be held for approval/) })]);
  });

  it('of a Parse, a Bind and an Execute the server refused name their command', () => {
    expect(refusals.get('parse-error')?.code).toBe('42P01');
    expect(errorsOf(commandOf('SELECT * FROM no_such_table WHERE id = $1', 'sql-prepare'))).toEqual([expect.objectContaining({ code: '42P01' })]);
    // The server's own syntax error for a statement Vigil could not parse (its literals redacted in the record).
    expect(errorsOf(commandOf("SELEC '[REDACTED]'", 'sql-prepare'))).toEqual([expect.objectContaining({ code: '42601' })]);
    // A Bind's error belongs to the Execute of its portal when that is on its way, else to the Parse.
    const pipelined = commandOf('SELECT $1::int AS v')!;
    expect(pipelined.prepared).toBe(commandOf('SELECT $1::int AS v', 'sql-prepare')!.id);
    expect(errorsOf(pipelined)).toEqual([expect.objectContaining({ code: '08P01', message: expect.stringMatching(/bind message supplies 0 parameters/) })]);
    expect(errorsOf(commandOf('SELECT $1::int AS w', 'sql-prepare'))).toEqual([expect.objectContaining({ code: '08P01', message: expect.stringMatching(/bind message supplies 0 parameters/) })]);
    // node-postgres's unnamed statement is planned at Bind, with its parameters: 1 / 0 fails there.
    expect(refusals.get('execute-error')?.code).toBe('22012');
    expect(errorsOf(commandOf('SELECT 1 / $1::int AS x'))).toEqual([expect.objectContaining({ code: '22012' })]);
  });

  it('of no command say what they are by their kind', () => {
    const loose = events.filter((e) => e.type === 'error' && e.command === undefined);
    expect(loose.length).toBeGreaterThanOrEqual(2);
    for (const e of loose) expect(e.kind).toMatch(/^(startup|protocol|target|session)$/);
    expect(loose).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'protocol', code: '08P01' }), expect.objectContaining({ kind: 'startup', code: '28000' })]));
    for (const e of events.filter((x) => x.type === 'error' && x.command !== undefined)) expect(e).not.toHaveProperty('kind');
  });
});

describe('holds', () => {
  it('every hold ends with its request and an outcome', () => {
    const holds = events.filter((e) => e.type === 'decision' && e.decision === 'hold');
    expect(holds.length).toBeGreaterThanOrEqual(5);
    for (const h of holds) {
      const cmd = events.find((e) => e.type === 'command' && e.sid === h.sid && e.id === h.command);
      expect({ command: cmd?.text, requested: about(cmd, 'approval.requested').length }).toEqual({ command: cmd?.text, requested: 1 });
      expect(about(cmd, 'decision').filter((e) => ['approved', 'denied', 'expired'].includes(String(e.decision)))).toHaveLength(1);
    }
  });

  it('a Parse of a statement that needs approval is prepared, not held; its execution is held, approved and run', () => {
    const parse = commandOf("UPDATE accounts SET status = 'parsed' WHERE id = 9", 'sql-prepare')!;
    const decisions = about(parse, 'decision');
    expect(decisions).toEqual([expect.objectContaining({ decision: 'deferred', rule: 'ci/accounts-need-approval' })]);
    const exec = events.find((e) => e.type === 'command' && e.sid === parse.sid && e.prepared === parse.id)!;
    expect(about(exec, 'decision').map((e) => e.decision)).toEqual(['hold', 'approved']);
    expect(resultsOf(exec)).toEqual([expect.objectContaining({ tag: 'UPDATE 1', rowCount: 1, heldMs: expect.any(Number) })]);
    const never = commandOf('DELETE FROM accounts WHERE id = 10', 'sql-prepare')!;
    expect(about(never, 'decision').map((e) => e.decision)).toEqual(['deferred']);
  });
});
