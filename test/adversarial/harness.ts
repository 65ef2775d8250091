/**
 * Harness for the standing adversarial suite (test/adversarial/*.test.ts).
 *
 * One fixture per file: real PostgreSQL 15 + the gateway in this process + the test identity providers
 * (test/helpers/gateway.ts). Every attack gets its own token(s); a token's `jti` is recorded by the gateway in
 * `identity.verified.tokenId`, so after all attacks ran, `evidence()` stops the gateway, exports and verifies
 * the bundle with the auditor key and hands back each attack's decrypted events — including sessions that
 * were refused at startup and never ran a statement (a marker comment could not tag those).
 *
 * Attacks are written with `attack(name, run, evidenceCheck)`: the run half asserts the target and what the
 * client received, the evidence half (registered under `evidenceSuite()`, the file's last describe) asserts
 * what the recording says happened.
 *
 * Configuration the fixes add (cardholderData, limits…) is written on lines ending in `# vigil-new`. When the
 * code under test rejects such a line (the baseline does: its schemas are strict), the harness starts without
 * those lines and records them in `unsupported`; `configTest()` asserts that list is empty, so the gap shows
 * as one failing test and every attack still runs against what the gateway does today.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import type { VerificationReport } from '../../shared/evidence/verify/report.ts';
import { policySchema } from '../../appliance/config/schema.ts';
import { postgresTargetSchema } from '../../appliance/protocols/postgres/config.ts';
import { approvalsSchema } from '../../appliance/approvals/config.ts';
import { authenticateUpstream, toServer, type BackendMessage } from '../../appliance/protocols/postgres/wire/index.ts';
import { CARD_ROWS, TARGET_PASSWORD, exportAndVerify, startGatewayFixture, type GatewayFixture } from '../helpers/gateway.ts';
import type { PostgresServer } from '../helpers/postgres.ts';
import { rawConnect, wrap, type RawClient } from '../helpers/pg-raw-client.ts';

// ── policies ─────────────────────────────────────────────────────────────────────────────────────────

/** Repository of the read-only bot (policy `ro`: writes need approval) and of the bot allowed to write (`rw`). */
export const RO = { repository: 'acme/payments' };
export const RW = { repository: 'acme-rw/x' };

export const RO_STATEMENTS = '{ read: allow, session: allow, transaction: allow, write: require-approval, default: block }';
export const RW_STATEMENTS = '{ read: allow, session: allow, transaction: allow, write: allow, resource: allow, default: block }';

export interface PolicyOptions {
  roStatements?: string;
  rwStatements?: string;
  /** More lines for each policy, indented by four spaces (rules:, masking:, limits: … # vigil-new). */
  roExtra?: string;
  rwExtra?: string;
  /** More policies (YAML list items), after ro and rw. */
  more?: string;
}

export function policies(o: PolicyOptions = {}): string {
  return `
policies:
  - name: ro
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: ${o.roStatements ?? RO_STATEMENTS}
    approvers: { groups: [dba] }
${o.roExtra ?? ''}  - name: rw
    match: { subjects: ['repo:acme-rw/*'] }
    targets: [payments]
    statements: ${o.rwStatements ?? RW_STATEMENTS}
    approvers: { groups: [dba] }
${o.rwExtra ?? ''}${o.more ?? ''}`;
}

// ── the fixture ──────────────────────────────────────────────────────────────────────────────────────

export interface AdvOptions {
  policies?: string;
  /** Lines added to the `payments` target (indented by four spaces), e.g. cardholderData. */
  targetExtra?: string;
  /** More top-level configuration; `approvals:` defaults to `expirySeconds: 5`. */
  extraConfig?: string;
  beforeStart?: (pg: PostgresServer) => void | Promise<void>;
}

const NEW = /#\s*vigil-new\s*$/;

/** Lines marked `# vigil-new` that the schemas of the code under test refuse (all of them, or none). */
function unsupportedLines(o: { policies: string; targetExtra: string; extraConfig: string }): string[] {
  const marked = [o.policies, o.targetExtra, o.extraConfig].join('\n').split('\n').filter((l) => NEW.test(l));
  if (marked.length === 0) return [];
  const problems: string[] = [];
  const pol = parseYaml(o.policies) as { policies: unknown[] };
  for (const p of pol.policies) {
    const r = policySchema.safeParse(p);
    if (!r.success) problems.push(r.error.message);
  }
  const target = parseYaml(`name: payments\nprotocol: postgres\nhost: 127.0.0.1\nport: 5432\ndatabase: payments\nuser: x\n${o.targetExtra.replace(/^ {4}/gm, '')}`);
  const t = postgresTargetSchema.safeParse(target);
  if (!t.success) problems.push(t.error.message);
  const approvals = (parseYaml(o.extraConfig || '{}') as Record<string, unknown> | null)?.['approvals'];
  if (approvals) {
    const a = approvalsSchema.safeParse(approvals);
    if (!a.success) problems.push(a.error.message);
  }
  return problems.length ? marked : [];
}

const strip = (s: string) => s.split('\n').filter((l) => !NEW.test(l)).join('\n');

export interface Collected {
  report: VerificationReport;
  /** Decrypted events by session id. */
  sessions: Map<string, EvidenceEvent[]>;
  /** Events of every session an attack opened, in session order then event order. */
  of(name: string): EvidenceEvent[];
  /** The sessions of one attack, each as its event list. */
  sessionsOf(name: string): EvidenceEvent[][];
  all(): EvidenceEvent[];
}

export class Adversary {
  f!: GatewayFixture;
  unsupported: string[] = [];
  private readonly jtis = new Map<string, string>(); // jti → attack name
  private readonly cleanups: (() => unknown)[] = [];
  private collected: Promise<Collected> | undefined;
  private gatewayStopped = false;

  async start(o: AdvOptions = {}): Promise<this> {
    const pieces = { policies: o.policies ?? policies(), targetExtra: o.targetExtra ?? '', extraConfig: o.extraConfig ?? 'approvals:\n  expirySeconds: 5\n' };
    this.unsupported = unsupportedLines(pieces);
    const use = this.unsupported.length ? { policies: strip(pieces.policies), targetExtra: strip(pieces.targetExtra), extraConfig: strip(pieces.extraConfig) } : pieces;
    this.f = await startGatewayFixture({
      policies: use.policies,
      extraTargets: use.targetExtra ? `${use.targetExtra.trimEnd()}\n` : '',
      extraConfig: use.extraConfig,
      ...(o.beforeStart ? { beforeStart: o.beforeStart } : {}),
    });
    return this;
  }

  /** SQL as the superuser on the payments database, bypassing the gateway (psql output, trimmed). */
  sql(sql: string): string {
    return this.f.pg.psql(sql, { database: 'payments' }).trim();
  }

  /** A fresh token for `who`, remembered as belonging to attack `name`. */
  async token(name: string, who: { repository: string } = RO): Promise<string> {
    const t = await this.f.token({ repository: who.repository });
    const payload = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { jti: string };
    this.jtis.set(payload.jti, name);
    return t;
  }

  /** A raw protocol session through the gateway (TLS, token login); `ready` false when startup was refused. */
  async raw(name: string, who: { repository: string } = RO, params: Record<string, string> = {}): Promise<Raw> {
    const token = await this.token(name, who);
    const c = await rawConnect(this.f.port, { tls: true });
    const r = tap(c);
    this.cleanups.push(() => c.close());
    c.send(toServer.startupMessage({ user: 'adv-bot', database: 'payments', ...params }));
    await r.until((m) => m.some((x) => x.type === 'R' || x.type === 'E'));
    if (r.messages.some((x) => x.type === 'R')) {
      c.send(toServer.passwordMessage(token));
      await r.until((m) => m.some((x) => x.type === 'Z' || x.type === 'E'));
    }
    r.ready = r.messages.some((x) => x.type === 'Z');
    return r;
  }

  /** A raw protocol session DIRECTLY on PostgreSQL as the target role (svc_reporting): proof an attack is real. */
  async direct(params: Record<string, string> = {}): Promise<Raw> {
    const socket: Socket = await new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: this.f.pg.port }, () => resolve(s));
      s.once('error', reject);
    });
    const up = await authenticateUpstream(socket, { user: 'svc_reporting', database: 'payments', password: TARGET_PASSWORD, params });
    const c = wrap(socket);
    const r = tap(c);
    this.cleanups.push(() => c.close());
    if (up.leftover.length) socket.unshift(up.leftover);
    socket.resume();
    r.ready = true;
    r.parameters = up.parameters;
    return r;
  }

  /** node-postgres through the gateway, with every byte it received kept. */
  async client(name: string, who: { repository: string } = RO, config: ClientOptions = {}): Promise<PgClient> {
    const password = await this.token(name, who);
    const c = new pg.Client({ host: '127.0.0.1', port: this.f.port, user: 'adv-bot', database: 'payments', password, ssl: { rejectUnauthorized: false }, ...config });
    return this.wrapPg(c);
  }

  /** node-postgres DIRECTLY on PostgreSQL as the target role. */
  async directClient(config: ClientOptions = {}): Promise<PgClient> {
    const c = new pg.Client({ host: '127.0.0.1', port: this.f.pg.port, user: 'svc_reporting', database: 'payments', password: TARGET_PASSWORD, ...config });
    return this.wrapPg(c);
  }

  private async wrapPg(c: pg.Client): Promise<PgClient> {
    const notices: Notice[] = [];
    const notifications: pg.Notification[] = [];
    const received: Buffer[] = [];
    c.on('notice', (n) => notices.push(n as Notice));
    c.on('notification', (n) => notifications.push(n));
    c.on('error', () => undefined);
    await c.connect();
    (c as unknown as { connection: { stream: Socket } }).connection.stream.on('data', (d: Buffer) => received.push(Buffer.from(d)));
    this.cleanups.push(() => c.end().catch(() => undefined));
    const q = async (query: string | pg.QueryConfig, values?: unknown[]): Promise<QueryOutcome> => {
      try {
        const r = await (typeof query === 'string' ? c.query(query, values) : c.query(query));
        return { ok: true, rows: r.rows, fields: r.fields, rowCount: r.rowCount, command: r.command };
      } catch (e) {
        const err = e as pg.DatabaseError;
        return { ok: false, error: { code: err.code, message: err.message, severity: err.severity, detail: err.detail } };
      }
    };
    return { c, notices, notifications, received: () => Buffer.concat(received), q };
  }

  /** The admin API as an approver (default alice@acme.test in group dba). */
  async api(method: string, path: string, body?: object, who: { subject: string; groups: string[] } = { subject: 'alice@acme.test', groups: ['dba'] }): Promise<{ status: number; json: Record<string, any> }> {
    const token = await this.f.staffToken(who.subject, who.groups);
    return new Promise((resolve, reject) => {
      const req = request(`${this.f.adminUrl}${path}`, { method, ca: readFileSync(this.f.adminCa), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
      });
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  }

  /** One approval record by id (what approvers are shown). */
  async approval(id: string): Promise<Record<string, any>> {
    const r = await this.api('GET', `/v1/approvals/${id}`);
    return r.json['approval'] as Record<string, any>;
  }

  /** Stops the gateway (once), exports and verifies the bundle; events grouped by attack. */
  evidence(): Promise<Collected> {
    this.collected ??= this.collect();
    return this.collected;
  }

  /** Closes every connection the attacks opened (each given at most 2 s). */
  private async closeAll(): Promise<void> {
    for (const c of this.cleanups.splice(0)) await Promise.race([Promise.resolve().then(c).catch(() => undefined), sleep(2_000)]);
  }

  private async collect(): Promise<Collected> {
    await this.closeAll();
    await new Promise((r) => setTimeout(r, 200));
    await this.f.gateway.stop();
    this.gatewayStopped = true;
    const { report, sessions } = await exportAndVerify(this.f, `adv-${randomUUID()}.vigil`);
    const byName = new Map<string, EvidenceEvent[][]>();
    for (const evs of sessions.values()) {
      const id = evs.find((e) => e.type === 'identity.verified' || e.type === 'identity.rejected');
      const name = typeof id?.tokenId === 'string' ? this.jtis.get(id.tokenId) : undefined;
      if (name) byName.set(name, [...(byName.get(name) ?? []), evs]);
    }
    return {
      report,
      sessions,
      of: (name) => (byName.get(name) ?? []).flat(),
      sessionsOf: (name) => byName.get(name) ?? [],
      all: () => [...sessions.values()].flat(),
    };
  }

  async stop(): Promise<void> {
    await this.closeAll();
    if (!this.gatewayStopped) await this.f?.gateway.stop().catch(() => undefined);
    await this.f?.pg.stop();
  }
}

/** What node-postgres hands a 'notice' listener (pg-protocol's NoticeMessage). */
export interface Notice {
  message?: string | undefined;
  code?: string | undefined;
  severity?: string | undefined;
  hint?: string | undefined;
}

/** node-postgres client options, plus `binary` (all results in binary format), which its types omit. */
export type ClientOptions = Partial<pg.ClientConfig> & { binary?: boolean };

export interface QueryOutcome {
  ok: boolean;
  rows?: Record<string, unknown>[];
  fields?: pg.FieldDef[];
  rowCount?: number | null;
  command?: string;
  error?: { code: string | undefined; message: string; severity: string | undefined; detail: string | undefined };
}

export interface PgClient {
  c: pg.Client;
  notices: Notice[];
  notifications: pg.Notification[];
  /** Every byte the client received after login. */
  received: () => Buffer;
  q: (query: string | pg.QueryConfig, values?: unknown[]) => Promise<QueryOutcome>;
}

// ── raw sessions ─────────────────────────────────────────────────────────────────────────────────────

export interface Raw extends RawClient {
  ready: boolean;
  isClosed: boolean;
  parameters?: Map<string, string>;
  /** Every byte received, in order. */
  bytes(): Buffer;
  /** Resolves once `pred(messages)` holds or the socket closed (never rejects; check afterwards). */
  until(pred: (m: BackendMessage[]) => boolean, timeoutMs?: number): Promise<boolean>;
  /** Sends `bytes`, waits for `readyCount` more ReadyForQuery (or close); returns the messages of that exchange. */
  exchange(bytes: Buffer | Buffer[], readyCount?: number, timeoutMs?: number): Promise<BackendMessage[]>;
}

function tap(c: RawClient): Raw {
  const chunks: Buffer[] = [];
  const r = c as Raw;
  r.ready = false;
  r.isClosed = false;
  c.socket.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
  void c.closed.then(() => (r.isClosed = true));
  r.bytes = () => Buffer.concat(chunks);
  r.until = async (pred, timeoutMs = 15_000) => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (pred(c.messages)) return true;
      if (r.isClosed) return pred(c.messages);
      await new Promise((res) => setTimeout(res, 10));
    }
    return false;
  };
  r.exchange = async (bytes, readyCount = 1, timeoutMs = 15_000) => {
    const mark = c.messages.length;
    c.send(Array.isArray(bytes) ? Buffer.concat(bytes) : bytes);
    await r.until((m) => m.slice(mark).filter((x) => x.type === 'Z').length >= readyCount, timeoutMs);
    return c.messages.slice(mark);
  };
  return r;
}

/** A Query message carrying exactly these bytes (no UTF-8 re-encoding: what an SJIS client sends). */
export function rawQuery(sql: Buffer | string): Buffer {
  const body = Buffer.concat([typeof sql === 'string' ? Buffer.from(sql, 'latin1') : sql, Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head[0] = 0x51;
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** A Parse message whose SQL is exactly these bytes. */
export function rawParse(name: string, sql: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0]), sql, Buffer.from([0, 0, 0])]);
  const head = Buffer.alloc(5);
  head[0] = 0x50;
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** "E:SQLSTATE:message" / "N:…" for every error and notice, the shape assertions compare. */
export function problems(messages: readonly BackendMessage[]): string[] {
  return messages.flatMap((m) => (m.type === 'E' || m.type === 'N' ? [`${m.type}:${m.fields.get('C')}:${m.fields.get('M')}`] : []));
}

export function errorsOf(messages: readonly BackendMessage[]): { code: string; severity: string; message: string }[] {
  return messages.flatMap((m) => (m.type === 'E' ? [{ code: m.fields.get('C') ?? '', severity: m.fields.get('V') ?? m.fields.get('S') ?? '', message: m.fields.get('M') ?? '' }] : []));
}

export function tags(messages: readonly BackendMessage[]): string[] {
  return messages.flatMap((m) => (m.type === 'C' ? [m.tag] : []));
}

export function rowsOf(messages: readonly BackendMessage[]): (string | null)[][] {
  return messages.flatMap((m) => (m.type === 'D' ? [m.values.map((v) => (v === null ? null : v.toString('utf8')))] : []));
}

export function rowDescription(messages: readonly BackendMessage[]) {
  const t = messages.find((m) => m.type === 'T');
  return t && t.type === 'T' ? t.fields : undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The request id of the first "holding this command for approval" NOTICE after `mark`, if one comes before ReadyForQuery. */
export async function holdNotice(c: Raw, mark: number, timeoutMs = 10_000): Promise<string | undefined> {
  const find = () => {
    for (const m of c.messages.slice(mark)) {
      if (m.type === 'N') {
        const id = /request (apr_[\w-]+)/.exec(m.fields.get('M') ?? '')?.[1];
        if (id) return id;
      }
      if (m.type === 'Z') return null;
    }
    return undefined;
  };
  await c.until(() => find() !== undefined, timeoutMs);
  return find() ?? undefined;
}

// ── clear card data ──────────────────────────────────────────────────────────────────────────────────

/** The fixture's test PANs (CARD_ROWS), plus any a file adds. */
export const TEST_PANS: string[] = [...new Set([...CARD_ROWS.map((r) => r.card), '4012888888881881', '6011111111111117'])];
export const TEST_CVVS: string[] = CARD_ROWS.map((r) => r.cvv);

const SEPARATORS = /[\s\-._/:,;'"|\\+()[\]{}$€£=]/g;

function b64Windows(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const enc = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const start = k ? 4 : 0;
    const end = Math.floor((k + bytes.length) / 3) * 4;
    out.push(enc.slice(start, end));
  }
  return out;
}

function numericGroups(pan: string): Buffer {
  // numeric's binary form carries base-10000 digit groups aligned at the decimal point.
  const padded = pan.padStart(Math.ceil(pan.length / 4) * 4, '0');
  const groups: number[] = [];
  for (let i = 0; i < padded.length; i += 4) groups.push(Number(padded.slice(i, i + 4)));
  while (groups.length && groups[groups.length - 1] === 0) groups.pop();
  const b = Buffer.alloc(groups.length * 2);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

interface Form {
  pan: string;
  how: string;
  text?: string;
  bytes?: Buffer;
}

function formsOf(pan: string): Form[] {
  const ascii = Buffer.from(pan);
  const int8 = Buffer.alloc(8);
  int8.writeBigInt64BE(BigInt(pan));
  const f8 = Buffer.alloc(8);
  f8.writeDoubleBE(Number(pan));
  const hex = ascii.toString('hex');
  const forms: Form[] = [
    { pan, how: 'digits', text: pan },
    { pan, how: 'reversed', text: [...pan].reverse().join('') },
    { pan, how: 'hex of ASCII', text: hex },
    { pan, how: 'HEX of ASCII', text: hex.toUpperCase() },
    { pan, how: 'hex of the number', text: BigInt(pan).toString(16) },
    { pan, how: 'md5', text: createHash('md5').update(pan).digest('hex') },
    { pan, how: 'sha256', text: createHash('sha256').update(pan).digest('hex') },
    { pan, how: 'digits as letters a-j', text: [...pan].map((d) => 'abcdefghij'[Number(d)]).join('') },
    { pan, how: 'int8 binary', bytes: int8 },
    { pan, how: 'float8 binary', bytes: f8 },
    { pan, how: 'numeric binary digits', bytes: numericGroups(pan) },
  ];
  for (const w of b64Windows(ascii)) forms.push({ pan, how: 'base64', text: w });
  return forms;
}

function flatten(v: unknown, out: string[], bufs: Buffer[]): void {
  if (v === null || v === undefined) return;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    const b = Buffer.from(v);
    bufs.push(b);
    out.push(b.toString('utf8'), b.toString('latin1'));
    return;
  }
  if (typeof v === 'string' || typeof v === 'bigint' || typeof v === 'boolean') return void out.push(String(v));
  if (typeof v === 'number') {
    out.push(String(v));
    if (Number.isFinite(v) && Math.abs(v) < 1e20) out.push(BigInt(Math.round(v)).toString());
    return;
  }
  if (v instanceof Date) return void out.push(v.toISOString());
  if (typeof v === 'object') for (const x of Object.values(v)) flatten(x, out, bufs);
}

/**
 * Every way a test PAN shows in clear in `what` (bytes, strings, rows, events…): its digits, reversed, hex of
 * its ASCII, base64 (any alignment), with separators removed, as full-width digits (NFKC), the hex of its
 * number, md5/sha256, and the int8/float8/numeric binary encodings of it. Each string (each value) is checked
 * on its own, so separators are never removed across two values. Empty when none.
 */
export function cardLeaks(what: unknown, pans: readonly string[] = TEST_PANS): string[] {
  const texts: string[] = [];
  const bufs: Buffer[] = [];
  flatten(what, texts, bufs);
  const variants = texts.flatMap((t) => {
    const n = t.normalize('NFKC');
    return [t, n, n.replace(SEPARATORS, '')];
  });
  const found = new Set<string>();
  for (const pan of pans) {
    for (const form of formsOf(pan)) {
      if (form.text && variants.some((v) => v.includes(form.text!))) found.add(`${pan} as ${form.how}`);
      if (form.bytes && bufs.some((b) => b.includes(form.bytes!))) found.add(`${pan} as ${form.how}`);
    }
  }
  return [...found];
}

/** A test PAN written in full-width digits (U+FF10…): some recorders miss it, NFKC folds it back. */
export const fullWidth = (digits: string) => [...digits].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');

/** Every event JSON (plus raw `data`) of an evidence selection, for scanning. */
export function eventsText(events: readonly EvidenceEvent[]): unknown[] {
  return events.map((e) => {
    const { data, ...rest } = e;
    return [rest, ...(data ? [Buffer.from(data)] : [])];
  });
}

// ── evidence queries ─────────────────────────────────────────────────────────────────────────────────

export const commands = (evs: readonly EvidenceEvent[]) => evs.filter((e) => e.type === 'command');
export const commandWith = (evs: readonly EvidenceEvent[], re: RegExp) => commands(evs).filter((e) => typeof e.text === 'string' && re.test(e.text));
export const decisionsOf = (evs: readonly EvidenceEvent[], id: unknown) => evs.filter((e) => e.type === 'decision' && e.command === id).map((e) => e.decision);
export const resultsOf = (evs: readonly EvidenceEvent[], id: unknown) => evs.filter((e) => e.type === 'result' && e.command === id);
export const errorsIn = (evs: readonly EvidenceEvent[]) => evs.filter((e) => e.type === 'error');
export const classesOf = (e: EvidenceEvent | undefined) => ((e?.classification as { class: string }[] | undefined) ?? []).map((c) => c.class);
export const tablesOf = (e: EvidenceEvent | undefined) => ((e?.classification as { tables: string[] }[] | undefined) ?? []).flatMap((c) => c.tables);

// ── the two halves of an attack ──────────────────────────────────────────────────────────────────────

type Check = { name: string; check: (events: EvidenceEvent[], all: Collected) => void | Promise<void> };

/**
 * Declares one attack: `run` (a test in the current describe) tries it and asserts the target and what the
 * client received; `evidence` (a test in the file's final `evidenceSuite`) asserts what the recording says.
 */
export function attackSuite(adv: Adversary) {
  const checks: Check[] = [];
  const attack = (name: string, run: () => Promise<void>, evidence?: Check['check'], timeout?: number) => {
    it(name, run, timeout);
    if (evidence) checks.push({ name, check: evidence });
  };
  /** The file's last block: stop, export, verify, then every attack's evidence check. */
  const evidenceSuite = (extra?: (c: () => Collected) => void) => {
    describe('evidence', () => {
      let col: Collected;
      beforeAll(async () => {
        col = await adv.evidence();
      }, 120_000);
      it('the bundle verifies with the auditor key', () => {
        expect(col.report.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.failures.join('; ')}`)).toEqual([]);
      });
      for (const c of checks) {
        it(`${c.name} — evidence`, async () => {
          const evs = col.of(c.name);
          expect(evs.length, `no recorded session for attack ${c.name}`).toBeGreaterThan(0);
          await c.check(evs, col);
        });
      }
      extra?.(() => col);
    });
  };
  return { attack, evidenceSuite };
}

/** beforeAll/afterAll for a file's one fixture, plus the test that the fixes' configuration is accepted. */
export function useAdversary(o: AdvOptions | (() => AdvOptions)): Adversary {
  const adv = new Adversary();
  beforeAll(async () => {
    await adv.start(typeof o === 'function' ? o() : o);
  }, 180_000);
  afterAll(async () => {
    await adv.stop();
  }, 60_000);
  return adv;
}

export function configTest(adv: Adversary): void {
  it('the configuration the fixes introduce is accepted', () => {
    expect(adv.unsupported, 'configuration lines the gateway refused (started without them)').toEqual([]);
  });
}
