/**
 * The query phase of one PostgreSQL session: client and target are both authenticated; every message
 * now passes through policy, the masker and the recorder. This file owns the two sockets, the order of
 * work (decode → decide → record → commit → forward) and the end of the session; client-commands.ts
 * decides what the client sends, server-responses.ts attributes and masks what the target answers.
 */
import { describeError } from '../../../shared/errors.ts';
import { ClientCommands } from './client-commands.ts';
import { fatal } from './client-errors.ts';
import { NameTable } from './name-table.ts';
import type { ProxyCore, ProxyOptions } from './proxy-core.ts';
import { recordValue } from './record-values.ts';
import { ResponseTracker, type CommandResult, type Pending } from './response-tracker.ts';
import { ServerResponses } from './server-responses.ts';
import { PROBE_SQL, SessionSettings } from './session-settings.ts';
import { StatementTimer } from './statement-limits.ts';
import type { BoundPortal, PreparedStatement } from './statements.ts';
import { BackendReader, PgProtocolError, toServer, type FrontendFrame, type TransactionStatus } from './wire/index.ts';

export type { ProxyOptions } from './proxy-core.ts';
export { justificationOf } from './client-commands.ts';

export class PgProxy implements ProxyCore {
  readonly o: ProxyOptions;
  readonly tracker = new ResponseTracker();
  readonly statements = new NameTable<PreparedStatement>();
  readonly portals = new NameTable<BoundPortal>();
  txStatus: TransactionStatus = 'I';
  syncsSent = 0;
  readonly settings = new SessionSettings();
  holds = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly statementTimer: StatementTimer | undefined;
  private readonly backend = new BackendReader();
  private readonly commands: ClientCommands;
  private readonly responses: ServerResponses;
  private outbound: Buffer[] = [];
  /** Commands queued in `outbound`: released to the target (their durations start) by the next flush. */
  private unreleased: CommandResult[] = [];
  private needsCommit = false;
  private processing = false;
  private closed = false;
  private lastActivity = Date.now();

  constructor(o: ProxyOptions) {
    this.o = o;
    this.commands = new ClientCommands(this);
    this.responses = new ServerResponses(this);
    const max = o.maxStatementSeconds;
    if (max !== undefined) this.statementTimer = new StatementTimer(max, (p) => this.overLimit(p, max));
  }

  /** The command the server is working on ran past the policy's limit: cancel it on the target. */
  private overLimit(p: Pending, max: number): void {
    const cmd = 'cmd' in p ? p.cmd : undefined;
    if (!cmd || this.closed) return;
    cmd.overLimit = max;
    this.o.session.record({ type: 'notice', kind: 'statement-limit', command: cmd.id, message: `the statement ran longer than the policy's maxStatementSeconds (${max} s): Vigil cancelled it on the target` });
    this.recorded();
    void this.o.cancelTarget().catch((e) => this.o.logger.warn({ sessionId: this.o.session.id, err: describeError(e) }, 'could not cancel a statement over its time limit'));
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

  get planContext() {
    return this.commands.planContext;
  }

  get transactionStatus(): TransactionStatus {
    return this.txStatus;
  }

  /** When the client last sent a message (Date.now() milliseconds): what idle timeouts measure. */
  get lastClientActivity(): number {
    return this.lastActivity;
  }

  /** Whether the session is working: the target owes answers, or a command waits for approval. */
  get busy(): boolean {
    return this.tracker.size > 0 || this.holds > 0;
  }

  /**
   * Ends the session from the gateway's side (token expired, idle or maximum duration reached, a pinned
   * setting changed): the client gets a FATAL with `sqlstate` and `message`, the target connection is
   * closed, and `reason` is what the archive records as the close reason.
   */
  terminate(sqlstate: string, message: string, reason: string, hint?: string): void {
    if (this.closed) return;
    this.o.session.record({ type: 'error', kind: 'session', code: sqlstate, message });
    if (!this.o.client.destroyed) this.o.client.end(fatal(sqlstate, message, hint));
    this.close(reason);
  }

  // ── the ProxyCore the two directions share ─────────────────────────────────────────────────────

  forward(b: Buffer, expect?: Pending): void {
    this.outbound.push(b);
    if (!expect) return;
    this.tracker.push(expect);
    if ('cmd' in expect && expect.cmd && expect.cmd.startedAt === undefined) this.unreleased.push(expect.cmd);
    if (expect.kind === 'sync' || expect.kind === 'query' || expect.kind === 'function' || expect.kind === 'probe' || expect.kind === 'check') this.syncsSent++;
  }

  recorded(): void {
    this.needsCommit = true;
  }

  /** Commits the recording, then forwards everything queued (record, then forward). */
  async flush(): Promise<void> {
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
    this.released(performance.now());
    this.statementTimer?.check(this.tracker.current);
  }

  /** The commands just written to the target: their durations count from now, a held one's wait ends now. */
  private released(now: number): void {
    for (const r of this.unreleased) {
      r.startedAt = now;
      if (r.heldFrom !== undefined) r.heldMs = Math.round((now - r.heldFrom) * 1000) / 1000;
    }
    this.unreleased = [];
  }

  /** In order: after every answer the client is still owed for what it sent before. */
  tellClient(b: Buffer): void {
    if (this.tracker.size === 0) {
      if (!this.o.client.destroyed) this.o.client.write(b);
      return;
    }
    this.tracker.push({ kind: 'notice', bytes: b });
  }

  canReachIdle(): boolean {
    const last = this.tracker.lastAnswered;
    return !last || last.kind === 'sync' || last.kind === 'query' || last.kind === 'function' || last.kind === 'probe' || last.kind === 'check';
  }

  async idle(): Promise<void> {
    await this.flush();
    if (this.tracker.size === 0 || this.closed) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Called by the server side after each ReadyForQuery. */
  answered(answered: number): void {
    this.settings.synced(answered);
  }

  /** Called by the server side after each frame: wakes whoever waits for the server to be idle. */
  checkIdle(): void {
    if (this.tracker.size > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  async probe(): Promise<boolean> {
    await this.idle();
    if (this.closed) return false;
    const probe = { kind: 'probe' as const, rows: [] as (string | null)[][], error: undefined as string | undefined, done: () => undefined as void };
    const done = new Promise<void>((resolve) => (probe.done = resolve));
    this.forward(toServer.query(PROBE_SQL), probe);
    await this.flush();
    await done;
    const row = probe.rows[0];
    if (probe.error !== undefined || !row) {
      this.o.session.record({ type: 'notice', kind: 'session-settings', error: probe.error ?? 'no row' });
      return false;
    }
    const stop = this.settings.learn(row);
    if (stop) {
      this.terminate('0A000', `${stop}: the session was stopped`, stop);
      return false;
    }
    this.o.session.record({ type: 'notice', kind: 'session-settings', searchPath: this.settings.known!.searchPath, role: this.settings.known!.role });
    this.recorded();
    return true;
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
      await this.flush();
    } catch (e) {
      if (e instanceof PgProtocolError) this.protocolFailure(e);
      else this.recordingFailure(e);
      return;
    } finally {
      this.processing = false;
    }
    if (!this.closed && this.o.upstream.writableLength < 1 << 20) this.o.client.resume();
  }

  private async handleClientFrame(frame: FrontendFrame): Promise<void> {
    const c = this.commands;
    switch (frame.type) {
      case 'Q':
        return c.onQuery(frame);
      case 'P':
        return c.onParse(frame);
      case 'B':
        return c.onBind(frame);
      case 'E':
        return c.onExecute(frame);
      case 'D':
        return c.onDescribe(frame);
      case 'C':
        return c.onClose(frame);
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
        return c.onFunctionCall(frame);
      case 'X':
        this.forward(frame.raw);
        await this.flush();
        this.close('client terminated the session (Terminate)');
        return;
      default:
        this.protocolFailure(new Error(`unexpected ${String(frame.type)} message after authentication`));
    }
  }

  private onCopyInData(data: Buffer): void {
    const copy = this.responses.copyIn;
    if (!copy) return;
    copy.bytes += data.length;
    if (copy.rows.length < this.o.resultRowsCap) {
      for (const line of data.toString('utf8').split('\n')) {
        if (line && copy.rows.length < this.o.resultRowsCap) copy.rows.push(recordValue(Buffer.from(line), 0, this.o.session.masks)!);
      }
    }
  }

  private endCopyIn(how: 'done' | 'failed'): void {
    const copy = this.responses.copyIn;
    if (!copy) return;
    this.o.session.record({ type: 'result', command: copy.cmd, status: how === 'done' ? 'copy-in' : 'copy-failed', bytes: copy.bytes, rows: copy.rows.map((r) => [r]) });
    this.o.session.recordMasking(copy.cmd);
    this.recorded();
    this.responses.copyIn = undefined;
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
      for (let f = this.backend.next(); f; f = this.backend.next()) {
        if (!this.responses.handle(f, out)) return;
      }
    } catch (e) {
      return this.upstreamFailure(e);
    }
    this.statementTimer?.check(this.tracker.current);
    if (out.length === 0 || this.closed) return;
    const { client } = this.o;
    client.cork();
    let ok = true;
    for (const b of out) ok = client.write(b) && ok;
    client.uncork();
    if (!ok) this.o.upstream.pause();
  }

  // ── failures and the end ───────────────────────────────────────────────────────────────────────

  private protocolFailure(e: unknown): void {
    const sqlstate = (e as { sqlstate?: string }).sqlstate ?? '08P01';
    this.o.session.record({ type: 'error', kind: 'protocol', code: sqlstate, message: `protocol violation from the client: ${describeError(e)}` });
    if (!this.o.client.destroyed) this.o.client.end(fatal(sqlstate, `protocol violation: ${describeError(e)}`));
    this.close('protocol violation from the client');
  }

  private upstreamFailure(e: unknown): void {
    this.o.logger.warn({ sessionId: this.o.session.id, err: describeError(e) }, 'target protocol failure');
    this.o.session.record({ type: 'error', kind: 'target', code: '08006', message: `the target broke the protocol: ${describeError(e)}` });
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
    this.statementTimer?.stop();
    // Closing the target connection does not stop a statement: PostgreSQL notices a vanished client only
    // when it next writes to it, so a running statement would go on (and commit). Cancel it first.
    if (this.tracker.size > 0) void this.o.cancelTarget().catch(() => undefined);
    for (const w of this.idleWaiters.splice(0)) w();
    this.o.upstream.destroy();
    if (!this.o.client.destroyed) this.o.client.end();
    this.o.onClose(reason);
  }
}
