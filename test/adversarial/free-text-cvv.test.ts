/**
 * A card security code typed next to a card number in free text (PCI DSS 3.3.1: sensitive authentication data
 * is never stored after authorisation, not even encrypted).
 *
 * A bot writes `note = 'card 4111 1111 1111 1111 cvv 123'`; the write needs approval. The statement must run
 * exactly as sent (the target row holds the value), while everything that stores or shows it — the archive,
 * the approvals table in vigil.db, `vigil approvals show`/`list`, the webhooks — holds neither the clear PAN
 * nor the code next to its keyword, and the evidence counts the redaction. Once as a simple Query (the code
 * in the statement text), once through the extended protocol (the code in a bind parameter).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer as T } from '../../appliance/protocols/postgres/wire/index.ts';
import { vigilAsync } from '../helpers/cli.ts';
import { tempDir } from '../helpers/evidence.ts';
import { Adversary, attackSuite, cardLeaks, commands, eventsText, holdNotice, problems, tags, useAdversary } from './harness.ts';

const NOTE = 'card 4111 1111 1111 1111 cvv 123';
/** The code in clear next to its keyword (what must never be stored or shown). */
const CLEAR_CODE = /cvv[^A-Za-z0-9]{0,12}123(?![0-9])/i;

const received: { path: string; body: string }[] = [];
let hooks: Server;
let hookPort = 0;
beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', () => r()));
  hookPort = (hooks.address() as { port: number }).port;
});
afterAll(() => {
  hooks?.close();
});

const adv: Adversary = useAdversary(() => ({
  extraConfig: `approvals:
  expirySeconds: 60
  webhooks:
    - { url: 'http://127.0.0.1:${hookPort}/json', format: json }
    - { url: 'http://127.0.0.1:${hookPort}/slack', format: slack }
`,
}));
const { attack, evidenceSuite } = attackSuite(adv);
const DAVE = { subject: 'dave@acme.test', groups: ['dba'] };
const requests = new Map<string, string>(); // attack name → request id

/** Neither the clear PAN (in any form cardLeaks knows) nor the code next to its keyword. */
function expectClean(what: string, text: string): void {
  expect(cardLeaks([text]), `${what}: a clear test PAN`).toEqual([]);
  expect(text, `${what}: the security code in clear`).not.toMatch(CLEAR_CODE);
}

async function approverCli(args: string[]): Promise<string> {
  const tokenFile = join(tempDir(), 'token');
  writeFileSync(tokenFile, await adv.f.staffToken('alice@acme.test', ['dba']));
  const r = await vigilAsync(['approvals', ...args, '--url', adv.f.adminUrl, '--ca', adv.f.adminCa, '--token-file', tokenFile]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** Every byte of vigil.db and its WAL, and the approvals row of `id`. */
function stored(id: string): { files: string; row: string } {
  const dataDir = join(adv.f.dir, 'appliance', 'data');
  const files = readdirSync(dataDir)
    .filter((f) => f.startsWith('vigil.db'))
    .map((f) => readFileSync(join(dataDir, f)).toString('latin1'))
    .join('\n');
  const db = new Database(join(dataDir, 'vigil.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    expect(row, `the approvals row of ${id}`).toBeDefined();
    return { files, row: JSON.stringify(row) };
  } finally {
    db.close();
  }
}

async function webhookBodies(id: string): Promise<string[]> {
  const end = Date.now() + 10_000;
  const mine = () => received.filter((r) => r.body.includes(id));
  while (mine().length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const bodies = mine();
  expect(bodies.map((b) => b.path).sort(), `the request ${id} was announced to both webhooks`).toEqual(expect.arrayContaining(['/json', '/slack']));
  return bodies.map((b) => b.body);
}

/** Holds, checks everything that shows or stores the request, approves, and checks the statement ran as sent. */
async function heldWrite(name: string, id: number, messages: Buffer[]): Promise<void> {
  const c = await adv.raw(name);
  const mark = c.messages.length;
  c.send(Buffer.concat(messages));
  const req = await holdNotice(c, mark);
  expect(req, 'the write is held for approval').toBeDefined();
  requests.set(name, req!);

  const shown = await adv.approval(req!);
  expect(String(shown['command']), 'what the approver is shown names the statement').toMatch(/^UPDATE customers SET note = /);
  expectClean('the admin API', JSON.stringify(shown));
  // A parse tree holds the literals in clear (of the first statement of its shape, maybe another session's).
  expect((shown['classification'] as object[]).map((c) => Object.keys(c).sort()), 'the classification as the command event records it').toEqual([['class', 'command', 'tables', 'tags']]);
  expectClean('vigil approvals show', await approverCli(['show', req!]));
  expectClean('vigil approvals show --json', await approverCli(['show', req!, '--json']));
  expectClean('vigil approvals list', await approverCli(['list', '--status', 'pending']));
  for (const body of await webhookBodies(req!)) expectClean('a webhook body', body);
  const before = stored(req!);
  expectClean('the approvals row in vigil.db', before.row);
  expectClean('vigil.db and its WAL', before.files);

  const approved = await adv.api('POST', `/v1/approvals/${req}/approve`, { reason: 'adversarial suite: the note is needed' }, DAVE);
  expect(approved.status).toBe(200);
  await c.until((m) => m.slice(mark).some((x) => x.type === 'Z'), 15_000);
  const got = c.messages.slice(mark);
  expect(problems(got)).toEqual([expect.stringMatching(/^N:01000:Vigil is holding this command/)]);
  expect(tags(got)).toEqual(['UPDATE 1']);
  expect(adv.sql(`SELECT note FROM customers WHERE id = ${id}`), 'the statement ran as sent: the target holds the value').toBe(NOTE);
  const after = stored(req!);
  expectClean('the approvals row in vigil.db, decided', after.row);
  expectClean('vigil.db and its WAL, decided', after.files);
}

/** The recording of the held write: redacted text (and params), request and decisions, counts, result. */
function recorded(name: string, text: string, params?: string[]) {
  return (evs: EvidenceEvent[]) => {
    expect(cardLeaks(eventsText(evs)), 'a test PAN in the decrypted evidence').toEqual([]);
    for (const e of evs) expect(JSON.stringify(e), `event ${e.seq} (${e.type})`).not.toMatch(CLEAR_CODE);
    const req = evs.find((e) => e.type === 'approval.requested' && e.requestId === requests.get(name));
    expect(req, 'the request is recorded').toBeDefined();
    const cmd = commands(evs).find((e) => e.id === req!.command);
    expect(cmd?.text, 'the recorded command text').toBe(text);
    if (params) expect(cmd?.params, 'the recorded parameters').toEqual(params);
    expect(req!.statement, 'approvers were shown the recorded text').toBe(text);
    const masking = evs.filter((e) => e.type === 'masking' && e.command === cmd!.id);
    const kinds = masking.map((e) => e.kinds as Record<string, number>);
    expect(kinds.reduce((n, k) => n + (k['pan'] ?? 0), 0), 'the PAN masking is counted').toBeGreaterThanOrEqual(1);
    expect(kinds.reduce((n, k) => n + (k['sad'] ?? 0), 0), 'the security-code redaction is counted').toBeGreaterThanOrEqual(1);
    expect(evs.filter((e) => e.type === 'decision' && e.command === cmd!.id).map((e) => e.decision)).toEqual(['hold', 'approved']);
    expect(evs.filter((e) => e.type === 'result' && e.command === cmd!.id).map((e) => e.tag)).toEqual(['UPDATE 1']);
  };
}

const REDACTED_NOTE = 'card 4111 11** **** 1111 cvv [REDACTED CVV]';

describe('a CVV next to a card number in a value the bot writes', () => {
  const QUERY = 'the CVV in the statement text (simple Query), approved';
  attack(QUERY, () => heldWrite(QUERY, 2, [T.query(`UPDATE customers SET note = '${NOTE}' WHERE id = 2`)]), recorded(QUERY, `UPDATE customers SET note = '${REDACTED_NOTE}' WHERE id = 2`));

  const BIND = 'the CVV in a bind parameter (extended protocol), approved';
  attack(
    BIND,
    () => heldWrite(BIND, 3, [T.parse('', 'UPDATE customers SET note = $1 WHERE id = 3'), T.bind({ params: [NOTE] }), T.execute(), T.sync()]),
    recorded(BIND, 'UPDATE customers SET note = $1 WHERE id = 3', [REDACTED_NOTE]),
  );
});

evidenceSuite();
