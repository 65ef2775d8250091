/**
 * The query phase of one PostgreSQL session: client and target are both authenticated; every message
 * now passes through policy, the masker and the recorder.
 *
 * Client → target: each statement (Query, Parse) is classified on its parse tree and decided by policy;
 * each execution (Query, Execute) is recorded with its masked parameters; nothing is forwarded before
 * the pipeline's durability barrier (record, then forward). A refused statement is never sent: the gateway
 * sends a statement that fails harmlessly in its place and rewrites that failure into the policy's
 * error, so transaction state and pipelining behave exactly as if the server had refused it.
 *
 * Target → client: frames are relayed as received, except result rows (masked column by column when the
 * plan says so), errors and notices (card numbers masked), and answers to Describes the gateway injected.
 */
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { describeError } from '../../../shared/errors.ts';
import type { CommandFacts } from '../../policy/engine.ts';
import type { PipelineSession, CommandDecision } from '../../pipeline/session.ts';
import { MaskCounter } from '../../pipeline/masking.ts';
import type { Classification, SqlClassifier } from '../../sql/index.ts';
import { deniedErrorFields, error as errorMessage, fatal, policyErrorFields } from './client-errors.ts';
import { recordValue, truncateSql } from './record-values.ts';
import { ResponseTracker, type CommandResult, type Pending } from './response-tracker.ts';
import { MaskingError, maskDataRow, planColumns, planNeedsWork, rowValues, type ColumnPlan, type MaskPolicy } from './row-masker.ts';
import {
  BackendReader,
  decodeBind,
  decodeExecute,
  decodeFrontendMessage,
  decodeNoticeFields,
  decodeParse,
  decodeQuery,
  decodeRowDescription,
  formatOf,
  PgProtocolError,
  toClient,
  toServer,
  type BackendFrame,
  type FrontendFrame,
  type FrontendReader,
  type TransactionStatus,
} from './wire/index.ts';

/** A statement no server can run: sent in place of a refused one so the server itself reports the error. */
const REFUSED_SQL = 'VIGIL REFUSED THIS STATEMENT';

export interface ProxyOptions {
  client: Socket;
  upstream: Socket;
  clientReader: FrontendReader;
  session: PipelineSession;
  classifier: SqlClassifier;
  maskPolicy: MaskPolicy;
  /** Masked rows recorded per statement; the rest are counted. */
  resultRowsCap: number;
  /** Bytes the target sent right after authentication. */
  upstreamLeftover: Buffer;
  logger: { warn(o: object, msg: string): void };
  onClose: (reason: string) => void;
}

interface StatementState {
  sql: string;
  text: string;
  classification: Classification;
  facts: CommandFacts[];
  decision: CommandDecision['decision'];
}

interface PortalState {
  statement: string;
  params: (string | null)[];
  exact: Buffer[];
  described: boolean;
  resultFormats: number[];
}

export class PgProxy {
  private readonly o: ProxyOptions;
  private readonly backend = new BackendReader();
  private readonly tracker = new ResponseTracker();
  private readonly statements = new Map<string, StatementState>();
  private readonly portals = new Map<string, PortalState>();
  /** Plans of described portals (RowDescription arrives before Execute). */
  private readonly portalPlans = new Map<string, { plan: ColumnPlan[]; columns: string[] }>();
  private readonly recordMasks = new MaskCounter();
  private txStatus: TransactionStatus = 'I';
  private outbound: Buffer[] = [];
  private needsCommit = false;
  private processing = false;
  private closed = false;
  private lastActivity = Date.now();
  /** Set while COPY FROM STDIN data flows from the client. */
  private copyIn: { cmd: number; bytes: number; rows: string[] } | undefined;

  constructor(o: ProxyOptions) {
    this.o = o;
  }

  start(): void {
    const { client, upstream } = this.o;
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    upstream.on('data', (chunk: Buffer) => this.fromUpstream(chunk));
    client.on('close', () => this.close('client disconnected'));
    upstream.on('close', () => this.close('target closed the connection'));
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('drain', () => upstream.resume());
    upstream.on('drain', () => {
      if (!this.processing) client.resume();
    });
    if (this.o.upstreamLeftover.length) this.fromUpstream(this.o.upstreamLeftover);
    // Messages the client pipelined behind its startup packet are already in the reader.
    void this.drainClient();
    client.resume();
    upstream.resume();
  }

  get transactionStatus(): TransactionStatus {
    return this.txStatus;
  }

  /** When the client last sent a message (Date.now() milliseconds): what idle timeouts measure. */
  get lastClientActivity(): number {
    return this.lastActivity;
  }

  /** Whether the target still owes answers (a command is running or results are on their way). */
  get busy(): boolean {
    return this.tracker.size > 0;
  }

  /**
   * Ends the session from the gateway's side (token expired, idle or maximum duration reached): the
   * client gets a FATAL with `sqlstate` and `message`, the target connection is closed, and `reason` is
   * what the archive records as the close reason.
   */
  terminate(sqlstate: string, message: string, reason: string, hint?: string): void {
    if (this.closed) return;
    this.o.session.record({ type: 'error', code: sqlstate, message });
    if (!this.o.client.destroyed) this.o.client.end(fatal(sqlstate, message, hint));
    this.close(reason);
  }

  // ── client → target ────────────────────────────────────────────────────────────────────────────

  private fromClient(chunk: Buffer): void {
    this.lastActivity = Date.now();
    try {
      this.o.clientReader.push(chunk);
    } catch (e) {
      return this.protocolFailure(e);
    }
    if (!this.processing) void this.drainClient();
  }

  private async drainClient(): Promise<void> {
    this.processing = true;
    this.o.client.pause();
    try {
      for (;;) {
        let frame: FrontendFrame | undefined;
        try {
          frame = this.o.clientReader.next();
        } catch (e) {
          return this.protocolFailure(e);
        }
        if (!frame || this.closed) break;
        await this.handleClientFrame(frame);
      }
      await this.flushToUpstream();
    } catch (e) {
      if (e instanceof PgProtocolError) this.protocolFailure(e);
      else this.recordingFailure(e);
      return;
    } finally {
      this.processing = false;
    }
    if (!this.closed && this.o.upstream.writableLength < 1 << 20) this.o.client.resume();
  }

  /** Commits the recording, then forwards everything queued (record, then forward). */
  private async flushToUpstream(): Promise<void> {
    if (this.needsCommit) {
      this.needsCommit = false;
      await this.o.session.commit();
    }
    if (this.outbound.length === 0 || this.closed) return;
    const { upstream } = this.o;
    upstream.cork();
    for (const b of this.outbound) upstream.write(b);
    upstream.uncork();
    this.outbound = [];
  }

  private forward(b: Buffer, expect?: Pending): void {
    this.outbound.push(b);
    if (expect) this.tracker.push(expect);
  }

  private async handleClientFrame(frame: FrontendFrame): Promise<void> {
    switch (frame.type) {
      case 'Q':
        return this.onQuery(frame);
      case 'P':
        return this.onParse(frame);
      case 'B':
        return this.onBind(frame);
      case 'E':
        return this.onExecute(frame);
      case 'D': {
        const m = decodeFrontendMessage('D', frame.body) as { kind: 'S' | 'P'; name: string };
        if (m.kind === 'P') {
          const p = this.portals.get(m.name);
          if (p) p.described = true;
        }
        return this.forward(frame.raw, { kind: 'describe', target: m.kind, name: m.name, swallow: false });
      }
      case 'C': {
        const m = decodeFrontendMessage('C', frame.body) as { kind: 'S' | 'P'; name: string };
        if (m.kind === 'S') this.statements.delete(m.name);
        else this.portals.delete(m.name);
        return this.forward(frame.raw, { kind: 'close' });
      }
      case 'S':
        return this.forward(frame.raw, { kind: 'sync' });
      case 'H':
        return this.forward(frame.raw);
      case 'd':
        this.onCopyInData(frame.body);
        return this.forward(frame.raw);
      case 'c':
      case 'f':
        this.endCopyIn(frame.type === 'c' ? 'done' : 'failed');
        return this.forward(frame.raw);
      case 'F':
        return this.onFunctionCall(frame);
      case 'X':
        this.forward(frame.raw);
        await this.flushToUpstream();
        this.close('client terminated the session (Terminate)');
        return;
      default:
        this.protocolFailure(new Error(`unexpected ${String(frame.type)} message after authentication`));
    }
  }

  /** A function that puts `map`'s entry for `key` back as it is now. */
  private remember<V>(map: Map<string, V>, key: string): () => void {
    const had = map.has(key);
    const before = map.get(key);
    return () => {
      if (had) map.set(key, before!);
      else map.delete(key);
    };
  }

  private classify(sql: string): { classification: Classification; facts: CommandFacts[]; text: string } {
    const classification = this.o.classifier.classify(sql);
    const facts = classification.statements.map((s) => ({ class: s.class, command: s.command, tags: s.tags, tables: s.tables }));
    const redacted = this.o.classifier.redactForRecording(sql, classification);
    const text = truncateSql(this.o.session.masks.text(redacted));
    return { classification, facts, text };
  }

  private newResult(id: number): CommandResult {
    return { id, startedAt: performance.now(), plan: undefined, columns: undefined, rows: [], rowCount: 0 };
  }

  private async onQuery(frame: FrontendFrame): Promise<void> {
    const { sql } = decodeQuery(frame.body);
    const { classification, facts, text } = this.classify(sql);
    const cmd = this.o.session.decide({ kind: 'sql', text, statements: facts, fingerprint: classification.fingerprint, ...parseErrorExtra(classification) });
    this.o.session.recordMasking(cmd.id);
    this.needsCommit = true;
    const d = cmd.decision;
    // SQL-level PREPARE, DEALLOCATE and DISCARD change what statement names mean behind the protocol's back:
    // forget them all, so a Bind to any of them is judged as unknown until the client prepares it again.
    if (d.action !== 'block' && facts.some((x) => /^(PREPARE|DEALLOCATE|DISCARD)\b/.test(x.command))) this.statements.clear();
    if (d.action === 'allow') return this.forward(frame.raw, { kind: 'query', cmd: this.newResult(cmd.id) });
    if (d.action === 'block') return this.forward(toServer.query(REFUSED_SQL), { kind: 'query', cmd: undefined, rewrite: policyErrorFields(d.rule, d.reason) });
    const outcome = await this.holdForApproval(cmd, text, [Buffer.from(sql)], classification, justificationOf(sql));
    if (outcome.approved) return this.forward(frame.raw, { kind: 'query', cmd: this.newResult(cmd.id) });
    this.forward(toServer.query(REFUSED_SQL), { kind: 'query', cmd: undefined, rewrite: deniedErrorFields(d.rule, outcome.reason) });
  }

  private onParse(frame: FrontendFrame): void {
    const m = decodeParse(frame.body);
    const { classification, facts, text } = this.classify(m.sql);
    const cmd = this.o.session.decide({
      kind: 'sql-prepare',
      text,
      statements: facts,
      fingerprint: classification.fingerprint,
      extra: { statement: m.name, ...parseErrorExtra(classification).extra },
    });
    this.o.session.recordMasking(cmd.id);
    this.needsCommit = true;
    // What a name means changes only if the server accepts this Parse (a named statement that already
    // exists makes it fail): keep the old meaning to restore if it does not.
    const undo = this.remember(this.statements, m.name);
    this.statements.set(m.name, { sql: m.sql, text, classification, facts, decision: cmd.decision });
    if (cmd.decision.action === 'block') {
      // The server fails this Parse and skips to the next Sync, exactly as if it had refused it.
      this.forward(toServer.parse(m.name, REFUSED_SQL), { kind: 'parse', rewrite: policyErrorFields(cmd.decision.rule, cmd.decision.reason), undo });
      return;
    }
    // Preparing runs nothing: a statement that needs approval is held at Execute, with its parameters.
    this.forward(frame.raw, { kind: 'parse', undo });
  }

  private onBind(frame: FrontendFrame): void {
    const m = decodeBind(frame.body);
    const st = this.statements.get(m.statement);
    const sensitive = new Set(st?.classification.statements.flatMap((s) => s.sensitive.flatMap((b) => (b.kind === 'param' ? [b.index] : []))) ?? []);
    const params = m.params.map((v, i) => (sensitive.has(i + 1) ? (v === null ? null : this.o.session.masks.redact()) : recordValue(v, formatOf(m.paramFormats, i), this.o.session.masks)));
    const undo = this.remember(this.portals, m.portal);
    this.portals.set(m.portal, {
      statement: m.statement,
      params,
      exact: m.params.map((v) => v ?? Buffer.from([0xff])),
      described: false,
      resultFormats: m.resultFormats,
    });
    this.portalPlans.delete(m.portal);
    this.forward(frame.raw, { kind: 'bind', undo });
  }

  private async onExecute(frame: FrontendFrame): Promise<void> {
    const m = decodeExecute(frame.body);
    const portal = this.portals.get(m.portal);
    const st = portal ? this.statements.get(portal.statement) : undefined;
    const unknown: CommandFacts = { class: 'unknown', command: 'EXECUTE', tags: ['unknown-statement'], tables: [] };
    const cmd = this.o.session.decide({
      kind: 'sql',
      text: st?.text ?? `<execute portal "${m.portal}" of a statement Vigil did not see prepared>`,
      statements: st?.facts ?? [unknown],
      ...(portal ? { params: portal.params } : {}),
      extra: { portal: m.portal, statement: portal?.statement ?? null, ...(m.maxRows ? { maxRows: m.maxRows } : {}) },
    });
    this.o.session.recordMasking(cmd.id);
    this.needsCommit = true;
    const d = cmd.decision;
    const result = this.newResult(cmd.id);
    let rewrite: Map<string, string> | undefined;
    if (d.action === 'block') {
      rewrite = policyErrorFields(d.rule, d.reason);
    } else if (d.action === 'require-approval') {
      const outcome = await this.holdForApproval(cmd, st?.text ?? '', [Buffer.from(st?.sql ?? ''), ...(portal?.exact ?? [])], st?.classification, st ? justificationOf(st.sql) : undefined);
      if (!outcome.approved) rewrite = deniedErrorFields(d.rule, outcome.reason);
    }
    if (rewrite) {
      // Executing a portal that does not exist fails harmlessly; that failure becomes the policy's error.
      this.forward(toServer.execute(`vigil-refused-${randomBytes(6).toString('hex')}`), { kind: 'execute', cmd: result, portal: m.portal, rewrite });
      return;
    }
    if (portal && !portal.described) {
      // The masker needs the row layout; ask the server for it without showing the answer to the client.
      portal.described = true;
      this.forward(toServer.describe('P', m.portal), { kind: 'describe', target: 'P', name: m.portal, swallow: true });
    }
    this.forward(frame.raw, { kind: 'execute', cmd: result, portal: m.portal });
  }

  private onFunctionCall(frame: FrontendFrame): void {
    const facts: CommandFacts = { class: 'procedural', command: 'FUNCTION CALL', tags: ['fastpath'], tables: [] };
    const cmd = this.o.session.decide({ kind: 'sql', text: '<fastpath function call>', statements: [facts] });
    this.needsCommit = true;
    if (cmd.decision.action === 'allow') return this.forward(frame.raw, { kind: 'function', cmd: this.newResult(cmd.id) });
    const reason = cmd.decision.action === 'block' ? cmd.decision.reason : 'fastpath function calls cannot be held for approval';
    this.forward(toServer.query(REFUSED_SQL), { kind: 'function', cmd: undefined, rewrite: policyErrorFields(cmd.decision.rule, reason) });
  }

  private async holdForApproval(cmd: CommandDecision, display: string, exact: Buffer[], classification: Classification | undefined, justification: string | undefined) {
    await this.flushToUpstream();
    return this.o.session.hold(
      cmd,
      { display, exactBytes: Buffer.concat(exact.flatMap((b) => [lengthPrefix(b.length), b])), classification: classification?.statements ?? [], ...(justification ? { justification } : {}) },
      (info) => {
        // Tell the waiting client, in its own protocol, what is going on and how to get it approved.
        if (!this.o.client.destroyed) this.o.client.write(
          toClient.noticeResponse({
            severity: 'NOTICE',
            code: '01000',
            message: `Vigil is holding this command for approval (request ${info.requestId}); it runs once approved, until ${info.expiresAt}`,
            hint: info.howTo,
          }),
        );
      },
    );
  }

  private onCopyInData(data: Buffer): void {
    if (!this.copyIn) return;
    this.copyIn.bytes += data.length;
    if (this.copyIn.rows.length < this.o.resultRowsCap) {
      for (const line of data.toString('utf8').split('\n')) {
        if (line && this.copyIn.rows.length < this.o.resultRowsCap) this.copyIn.rows.push(recordValue(Buffer.from(line), 0, this.o.session.masks)!);
      }
    }
  }

  private endCopyIn(how: 'done' | 'failed'): void {
    if (!this.copyIn) return;
    this.o.session.record({ type: 'result', command: this.copyIn.cmd, status: how === 'done' ? 'copy-in' : 'copy-failed', bytes: this.copyIn.bytes, rows: this.copyIn.rows.map((r) => [r]) });
    this.o.session.recordMasking(this.copyIn.cmd);
    this.needsCommit = true;
    this.copyIn = undefined;
  }

  // ── target → client ────────────────────────────────────────────────────────────────────────────

  private fromUpstream(chunk: Buffer): void {
    try {
      this.backend.push(chunk);
    } catch (e) {
      return this.upstreamFailure(e);
    }
    const out: Buffer[] = [];
    try {
      for (let f = this.backend.next(); f; f = this.backend.next()) this.handleBackendFrame(f, out);
    } catch (e) {
      return this.upstreamFailure(e);
    }
    if (out.length === 0 || this.closed) return;
    const { client } = this.o;
    client.cork();
    let ok = true;
    for (const b of out) ok = client.write(b) && ok;
    client.uncork();
    if (!ok) this.o.upstream.pause();
  }

  private handleBackendFrame(f: BackendFrame, out: Buffer[]): void {
    const head = this.tracker.current;
    const withhold = head && 'cmd' in head && head.cmd?.failed;
    switch (f.type) {
      case '1':
      case '2':
      case '3':
        this.tracker.pop();
        out.push(f.raw);
        return;
      case 't':
        if (!(head?.kind === 'describe' && head.swallow)) out.push(f.raw);
        return;
      case 'n':
        this.tracker.pop();
        if (!(head?.kind === 'describe' && head.swallow)) out.push(f.raw);
        return;
      case 'T':
        return this.onRowDescription(f, head, out);
      case 'D':
        if (withhold) return;
        return this.onDataRow(f, head, out);
      case 'C':
      case 'I':
      case 's':
        if (withhold) {
          if (head.kind === 'execute') this.tracker.pop();
          return;
        }
        this.onCommandDone(f, head);
        if (head?.kind === 'execute') this.tracker.pop();
        out.push(f.raw);
        return;
      case 'E':
        return this.onError(f, head, out);
      case 'N':
        out.push(this.maskNotice(f, 'notice'));
        return;
      case 'A': {
        const m = f.decode() as { pid: number; channel: string; payload: string };
        const payload = this.o.session.masks.text(m.payload);
        this.o.session.record({ type: 'notice', kind: 'notification', channel: m.channel, payload: truncateSql(payload) });
        out.push(payload === m.payload ? f.raw : toClient.notificationResponse(m.pid, m.channel, payload));
        return;
      }
      case 'Z': {
        const m = f.decode() as { status: TransactionStatus };
        this.txStatus = m.status;
        this.tracker.pop();
        out.push(f.raw);
        return;
      }
      case 'G': {
        const cmd = head && 'cmd' in head ? head.cmd : undefined;
        this.copyIn = { cmd: cmd?.id ?? 0, bytes: 0, rows: [] };
        out.push(f.raw);
        return;
      }
      case 'H':
      case 'W': {
        const m = f.decode() as { format: number };
        if (m.format !== 0 && head && 'cmd' in head && head.cmd) {
          // Binary COPY output cannot be scanned for card numbers: withhold it (fail closed).
          head.cmd.failed = true;
          out.push(errorMessage('0A000', 'binary COPY TO STDOUT cannot be masked by Vigil; use text or CSV format'));
          this.o.session.record({ type: 'error', command: head.cmd.id, code: '0A000', message: 'binary COPY output withheld: it cannot be masked' });
          return;
        }
        out.push(f.raw);
        return;
      }
      case 'd': {
        if (withhold) return;
        const cmd = head && 'cmd' in head ? head.cmd : undefined;
        const m = this.o.session.masks.bytes(f.body);
        if (cmd) {
          cmd.rowCount++;
          if (cmd.rows.length < this.o.resultRowsCap) cmd.rows.push([recordValue(Buffer.from(m), 0, this.recordMasks)]);
        }
        out.push(m === f.body ? f.raw : toClient.copyData(m));
        return;
      }
      case 'c':
        if (!withhold) out.push(f.raw);
        return;
      case 'V':
        out.push(f.raw);
        return;
      case 'S': {
        const m = f.decode() as { name: string; value: string };
        if (m.name === 'standard_conforming_strings' && m.value !== 'on') {
          // The server would now read SQL differently from the parser Vigil classifies with: stop.
          this.o.session.record({ type: 'error', code: '0A000', message: 'standard_conforming_strings was turned off: session stopped' });
          this.o.client.write(Buffer.concat([...out.splice(0), fatal('0A000', 'standard_conforming_strings must stay on through Vigil; the session was stopped')]));
          this.close('standard_conforming_strings turned off');
          return;
        }
        out.push(f.raw);
        return;
      }
      default:
        throw new Error(`unexpected ${String(f.type)} message from the target in the query phase`);
    }
  }

  /** Plans by RowDescription bytes: a hot loop sends the same description again and again. */
  private readonly plans = new Map<string, { plan: ColumnPlan[]; columns: string[] }>();

  private planOf(body: Buffer): { plan: ColumnPlan[]; columns: string[] } {
    const key = body.toString('latin1');
    let p = this.plans.get(key);
    if (!p) {
      const fields = decodeRowDescription(body);
      p = { plan: planColumns(fields, this.o.maskPolicy), columns: fields.map((x) => x.name) };
      if (this.plans.size >= 256) this.plans.clear();
      this.plans.set(key, p);
    }
    return p;
  }

  private onRowDescription(f: BackendFrame, head: Pending | undefined, out: Buffer[]): void {
    const { plan, columns } = this.planOf(f.body);
    if (head?.kind === 'describe') {
      this.tracker.pop();
      if (head.target === 'P') this.portalPlans.set(head.name, { plan, columns });
      else {
        // Describe of a statement: rows of portals bound later use the formats Bind asks for.
        this.portalPlans.set(`\0statement:${head.name}`, { plan, columns });
      }
      if (!head.swallow) out.push(f.raw);
      return;
    }
    if (head?.kind === 'query' && head.cmd) {
      head.cmd.plan = plan;
      head.cmd.columns = columns;
    }
    out.push(f.raw);
  }

  private planFor(head: Pending | undefined): { cmd: CommandResult; plan: ColumnPlan[] } | undefined {
    if (!head || !('cmd' in head) || !head.cmd) return undefined;
    const cmd = head.cmd;
    if (!cmd.plan && head.kind === 'execute') {
      const p = this.portalPlans.get(head.portal);
      if (p) {
        cmd.plan = p.plan;
        cmd.columns = p.columns;
      }
    }
    return cmd.plan ? { cmd, plan: cmd.plan } : undefined;
  }

  private onDataRow(f: BackendFrame, head: Pending | undefined, out: Buffer[]): void {
    const found = this.planFor(head);
    const raw = f.raw;
    if (!found) {
      // No row layout means no masking plan: fail closed.
      return this.withholdRows(head, out, 'Vigil could not determine the columns of this result, so it cannot mask it');
    }
    const { cmd, plan } = found;
    let message = raw;
    let values: (Buffer | null)[] | undefined;
    if (planNeedsWork(plan)) {
      try {
        ({ message, values } = maskDataRow(raw, plan, this.o.session.masks));
      } catch (e) {
        if (e instanceof MaskingError) return this.withholdRows(head, out, e.message);
        throw e;
      }
    }
    cmd.rowCount++;
    if (cmd.rows.length < this.o.resultRowsCap) {
      const vals = values ?? rowValues(raw);
      cmd.rows.push(vals.map((v, i) => recordValue(v, plan[i]?.format ?? 0, this.recordMasks)));
    }
    out.push(message);
  }

  private withholdRows(head: Pending | undefined, out: Buffer[], why: string): void {
    if (!head || !('cmd' in head) || !head.cmd || head.cmd.failed) return;
    head.cmd.failed = true;
    out.push(errorMessage('0A000', `result withheld: ${why}`));
    this.o.session.record({ type: 'error', command: head.cmd.id, code: '0A000', message: `result withheld: ${why}` });
  }

  private onCommandDone(f: BackendFrame, head: Pending | undefined): void {
    if (!head || !('cmd' in head) || !head.cmd) return;
    const cmd = head.cmd;
    const tag = f.type === 'C' ? (f.decode() as { tag: string }).tag : f.type === 'I' ? '' : 'SUSPENDED';
    this.o.session.record({
      type: 'result',
      command: cmd.id,
      status: 'ok',
      tag,
      ...(cmd.columns ? { columns: cmd.columns } : {}),
      ...(cmd.rows.length ? { rows: cmd.rows } : {}),
      rowCount: cmd.rowCount,
      rowsOmitted: Math.max(0, cmd.rowCount - cmd.rows.length),
      durationMs: Math.round((performance.now() - cmd.startedAt) * 1000) / 1000,
    });
    this.o.session.recordMasking(cmd.id);
    // A simple Query may hold several statements: each gets its own result.
    cmd.plan = undefined;
    cmd.columns = undefined;
    cmd.rows = [];
    cmd.rowCount = 0;
    cmd.startedAt = performance.now();
  }

  private onError(f: BackendFrame, head: Pending | undefined, out: Buffer[]): void {
    const rewrite = head && 'rewrite' in head ? head.rewrite : undefined;
    const cmd = head && 'cmd' in head ? head.cmd : undefined;
    if (rewrite) {
      out.push(toClient.errorResponse(rewrite));
      this.o.session.record({ type: 'error', ...(cmd ? { command: cmd.id } : {}), code: rewrite.get('C'), message: rewrite.get('M') });
    } else if (!cmd?.failed) {
      out.push(this.maskNotice(f, 'error', cmd?.id));
    }
    if (head && head.kind !== 'query' && head.kind !== 'function') {
      // Extended protocol: the failed message and all up to the next Sync take no effect (skipToSync undoes
      // what they would have named).
      this.tracker.skipToSync();
    }
  }

  /** Masks card numbers in an ErrorResponse/NoticeResponse, records it, returns what to send. */
  private maskNotice(f: BackendFrame, kind: 'error' | 'notice', command?: number): Buffer {
    const fields = decodeNoticeFields(f.body, kind === 'error' ? 'ErrorResponse' : 'NoticeResponse');
    let changed = false;
    for (const [k, v] of fields) {
      const m = this.o.session.masks.text(v);
      if (m !== v) {
        fields.set(k, m);
        changed = true;
      }
    }
    this.o.session.record({
      type: kind,
      ...(command !== undefined ? { command } : {}),
      severity: fields.get('V') ?? fields.get('S'),
      code: fields.get('C'),
      message: truncateSql(fields.get('M') ?? ''),
      ...(fields.has('D') ? { detail: truncateSql(fields.get('D')!) } : {}),
    });
    if (!changed) return f.raw;
    return kind === 'error' ? toClient.errorResponse(fields) : toClient.noticeResponse(fields);
  }

  // ── failures and the end ───────────────────────────────────────────────────────────────────────

  private protocolFailure(e: unknown): void {
    const sqlstate = (e as { sqlstate?: string }).sqlstate ?? '08P01';
    this.o.session.record({ type: 'error', code: sqlstate, message: `protocol violation from the client: ${describeError(e)}` });
    if (!this.o.client.destroyed) this.o.client.end(fatal(sqlstate, `protocol violation: ${describeError(e)}`));
    this.close('protocol violation from the client');
  }

  private upstreamFailure(e: unknown): void {
    this.o.logger.warn({ sessionId: this.o.session.id, err: describeError(e) }, 'target protocol failure');
    this.o.session.record({ type: 'error', code: '08006', message: `the target broke the protocol: ${describeError(e)}` });
    if (!this.o.client.destroyed) this.o.client.end(fatal('08006', 'lost the connection to the target'));
    this.close('target protocol failure');
  }

  private recordingFailure(e: unknown): void {
    // Fail closed: without a durable record nothing more is forwarded.
    this.o.logger.warn({ sessionId: this.o.session.id, err: describeError(e) }, 'recording failed; closing the session');
    if (!this.o.client.destroyed) this.o.client.end(fatal('58030', 'Vigil could not record this session, so it stopped it', 'the appliance operator has been told'));
    this.close('recording failed');
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.o.upstream.destroy();
    if (!this.o.client.destroyed) this.o.client.end();
    this.o.onClose(reason);
  }
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

function parseErrorExtra(c: Classification): { extra?: Record<string, unknown> } {
  return c.parseError ? { extra: { parseError: c.parseError } } : {};
}

/** The documented justification convention: a SQL comment `-- vigil:justification=…` (or `/* vigil:justification=… *\/`). */
export function justificationOf(sql: string): string | undefined {
  const m = /vigil:justification=([^\n*]{1,500})/.exec(sql);
  return m ? m[1]!.trim() : undefined;
}
