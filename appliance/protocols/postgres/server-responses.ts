/**
 * Target → client: frames are relayed as received, except result rows (masked column by column when the
 * plan says so), errors, notices and notifications (card numbers masked), the answers to Describes the
 * gateway injected (swallowed), and the errors of commands it substituted (rewritten into the refusal).
 * Every answer is attributed to the message it answers (response-tracker.ts), which is how results are
 * recorded per command and how name operations learn whether they took effect.
 */
import { MaskCounter } from '../../pipeline/masking.ts';
import { error as errorMessage } from './client-errors.ts';
import type { ProxyCore } from './proxy-core.ts';
import { tagRowCount } from './command-tag.ts';
import { recordValue, truncateMessage } from './record-values.ts';
import type { CommandResult, Pending } from './response-tracker.ts';
import { planResult } from './provenance/mask-plan.ts';
import { REDACTED_MESSAGE, readsMessage, quotesValues } from './provenance/opaque-code.ts';
import { maskCopyRow } from './provenance/copy-masker.ts';
import type { ColumnClass } from './provenance/column-classes.ts';
import type { StatementOutput } from './provenance/provenance.ts';
import { MaskingError, maskDataRow, maskPanColumn, planNeedsWork, rowValues, type ColumnPlan } from './row-masker.ts';
import { decodeDataRow, decodeNoticeFields, decodeRowDescription, toClient, type BackendFrame, type TransactionStatus } from './wire/index.ts';

/** Session settings the gateway relies on: if the server ever reports another value, the session stops. */
const PINNED: Record<string, (v: string) => boolean> = {
  standard_conforming_strings: (v) => v === 'on',
  client_encoding: (v) => v.toUpperCase() === 'UTF8',
};

export class ServerResponses {
  private readonly recordMasks = new MaskCounter();
  /** Plans by RowDescription bytes, per statement output: a hot loop sends the same description again and again. */
  private readonly plans = new WeakMap<object, Map<string, { plan: ColumnPlan[]; columns: string[] }>>();
  private readonly noOutput = {};

  constructor(private readonly core: ProxyCore) {}

  /** Handles one frame; what goes to the client is appended to `out`. Returns false when the session must stop. */
  handle(f: BackendFrame, out: Buffer[]): boolean {
    const go = this.frame(f, out);
    this.noticesDue(out);
    this.core.checkIdle();
    return go;
  }

  /** The gateway's own notices whose turn has come (everything sent before them was answered). */
  noticesDue(out: Buffer[]): void {
    const t = this.core.tracker;
    for (let p = t.current; p?.kind === 'notice'; p = t.current) {
      out.push(p.bytes);
      t.pop();
    }
  }

  private frame(f: BackendFrame, out: Buffer[]): boolean {
    const c = this.core;
    const head = c.tracker.current;
    if (head?.kind === 'probe' && this.probeFrame(f, head)) return true;
    if (head?.kind === 'check' && this.checkFrame(f, head, out)) return true;
    const withhold = head && 'cmd' in head && head.cmd?.failed;
    switch (f.type) {
      case '1':
      case '2':
      case '3':
        c.tracker.complete();
        if (!(head && 'swallow' in head && head.swallow)) out.push(f.raw);
        return true;
      case 't':
        if (!(head?.kind === 'describe' && head.swallow)) out.push(f.raw);
        return true;
      case 'n':
        c.tracker.pop();
        if (head?.kind === 'describe') this.described(head, []);
        if (!(head?.kind === 'describe' && head.swallow)) out.push(f.raw);
        return true;
      case 'T':
        this.onRowDescription(f, head, out);
        return true;
      case 'D':
        if (!withhold) this.onDataRow(f, head, out);
        return true;
      case 'C':
      case 'I':
      case 's':
        if (!withhold) {
          this.onCommandDone(f, head);
          out.push(f.raw);
        }
        if (head?.kind === 'execute') c.tracker.pop();
        return true;
      case 'E':
        this.onError(f, head, out);
        return true;
      case 'N':
        out.push(this.maskNotice(f, 'notice', undefined, head && 'cmd' in head ? head.cmd?.redactMessages : false));
        return true;
      case 'A': {
        const m = f.decode() as { pid: number; channel: string; payload: string };
        const payload = c.o.session.masks.strict(m.payload);
        c.o.session.record({ type: 'notice', kind: 'notification', channel: m.channel, payload: truncateMessage(payload) });
        out.push(payload === m.payload ? f.raw : toClient.notificationResponse(m.pid, m.channel, payload));
        return true;
      }
      case 'Z':
        this.onReady(f);
        out.push(f.raw);
        return true;
      case 'G': {
        const cmd = head && 'cmd' in head ? head.cmd : undefined;
        this.copyIn = { cmd: cmd?.id ?? 0, bytes: 0, rows: [] };
        out.push(f.raw);
        return true;
      }
      case 'H':
      case 'W':
        this.onCopyOut(f, head, out);
        return true;
      case 'd':
        if (!withhold) this.onCopyData(f, head, out);
        return true;
      case 'c':
        if (!withhold) out.push(f.raw);
        return true;
      case 'V':
        out.push(f.raw);
        return true;
      case 'S':
        return this.onParameterStatus(f, out);
      default:
        throw new Error(`unexpected ${String(f.type)} message from the target in the query phase`);
    }
  }

  /** Set while COPY FROM STDIN data flows from the client (client-side messages feed it). */
  copyIn: { cmd: number; bytes: number; rows: string[] } | undefined;

  /** The gateway's own query: its rows and errors are consumed here; true when the frame was its. */
  private probeFrame(f: BackendFrame, head: Extract<Pending, { kind: 'probe' }>): boolean {
    switch (f.type) {
      case 'T':
      case 'C':
      case 'I':
        return true;
      case 'D':
        head.rows.push(decodeDataRow(f.body).map((v) => (v === null ? null : v.toString('utf8'))));
        return true;
      case 'E':
        head.error = decodeNoticeFields(f.body).get('M') ?? 'error';
        return true;
      case 'Z':
        this.onReady(f);
        head.done();
        return true;
      default:
        return false;
    }
  }

  /** The answers to a syntax check (see response-tracker.ts): true when the frame was its. */
  private checkFrame(f: BackendFrame, head: Extract<Pending, { kind: 'check' }>, out: Buffer[]): boolean {
    switch (f.type) {
      case '1':
      case '3':
        return true;
      case 'E':
        head.failed = true;
        out.push(this.maskNotice(f, 'error', head.command));
        return true;
      case 'Z':
        if (!head.failed) {
          out.push(toClient.errorResponse(head.refusal));
          this.core.o.session.record({ type: 'error', command: head.command, code: head.refusal.get('C'), message: head.refusal.get('M') });
        }
        this.onReady(f);
        out.push(f.raw);
        return true;
      default:
        return false;
    }
  }

  private onReady(f: BackendFrame): void {
    const c = this.core;
    const m = f.decode() as { status: TransactionStatus };
    c.txStatus = m.status;
    c.tracker.pop();
    this.syncsAnswered++;
    // Outside a transaction no portal survives (WITH HOLD cursors are not protocol portals Vigil knows).
    if (m.status === 'I') {
      const answered = this.syncsAnswered;
      c.portals.retain((p) => p.boundAt >= answered);
    }
    c.answered(this.syncsAnswered);
  }

  private syncsAnswered = 0;

  private onParameterStatus(f: BackendFrame, out: Buffer[]): boolean {
    const c = this.core;
    const m = f.decode() as { name: string; value: string };
    const pinned = Object.hasOwn(PINNED, m.name) ? PINNED[m.name] : undefined;
    if (pinned && !pinned(m.value)) {
      // The server would now read SQL differently from the parser Vigil classifies with: stop at once.
      const message = `${m.name} changed to ${m.value}; Vigil requires ${m.name === 'client_encoding' ? 'UTF8' : 'on'} and stopped the session`;
      c.o.client.write(Buffer.concat(out.splice(0)));
      c.terminate('0A000', message, `${m.name} changed to ${m.value}`);
      return false;
    }
    out.push(f.raw);
    return true;
  }

  private planOf(body: Buffer, output: StatementOutput | undefined): { plan: ColumnPlan[]; columns: string[] } {
    let byBody = this.plans.get(output ?? this.noOutput);
    if (!byBody) this.plans.set(output ?? this.noOutput, (byBody = new Map()));
    const key = body.toString('latin1');
    let p = byBody.get(key);
    if (!p) {
      const fields = decodeRowDescription(body);
      p = { plan: planResult(fields, output, this.core.planContext), columns: fields.map((x) => this.core.o.session.masks.strict(x.name)) };
      if (byBody.size >= 64) byBody.clear();
      byBody.set(key, p);
    }
    return p;
  }

  private described(head: Extract<Pending, { kind: 'describe' }>, fields: ReturnType<typeof decodeRowDescription>): void {
    if (head.target !== 'P' || !head.portal) return;
    head.portal.fields = fields;
    head.portal.describing = false;
  }

  private onRowDescription(f: BackendFrame, head: Pending | undefined, out: Buffer[]): void {
    if (head?.kind === 'describe') {
      this.core.tracker.pop();
      this.described(head, decodeRowDescription(f.body));
      if (!head.swallow) out.push(f.raw);
      return;
    }
    if (head?.kind === 'query' && head.cmd) {
      const { plan, columns } = this.planOf(f.body, head.cmd.outputs?.[head.cmd.statement ?? 0]);
      head.cmd.plan = plan;
      head.cmd.columns = columns;
    }
    out.push(f.raw);
  }

  private planFor(head: Pending | undefined): { cmd: CommandResult; plan: ColumnPlan[] } | undefined {
    if (!head || !('cmd' in head) || !head.cmd) return undefined;
    const cmd = head.cmd;
    if (!cmd.plan && head.kind === 'execute' && head.portal?.fields) {
      cmd.plan = planResult(head.portal.fields, cmd.outputs?.[0], this.core.planContext);
      cmd.columns = head.portal.fields.map((x) => this.core.o.session.masks.strict(x.name));
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
        ({ message, values } = maskDataRow(raw, plan, this.core.o.session.masks));
      } catch (e) {
        if (e instanceof MaskingError) return this.withholdRows(head, out, e.message);
        throw e;
      }
    }
    cmd.rowsReturned++;
    if (cmd.rows.length < this.core.o.resultRowsCap) {
      const vals = values ?? rowValues(raw);
      cmd.rows.push(vals.map((v, i) => recordValue(v, plan[i]?.format ?? 0, this.recordMasks)));
    }
    out.push(message);
  }

  private withholdRows(head: Pending | undefined, out: Buffer[], why: string): void {
    if (!head || !('cmd' in head) || !head.cmd || head.cmd.failed) return;
    head.cmd.failed = true;
    out.push(errorMessage('0A000', `result withheld: ${why}`));
    this.core.o.session.record({ type: 'error', command: head.cmd.id, code: '0A000', message: `result withheld: ${why}` });
  }

  private onCopyOut(f: BackendFrame, head: Pending | undefined, out: Buffer[]): void {
    const m = f.decode() as { format: number };
    if (m.format !== 0 && head && 'cmd' in head && head.cmd) {
      // Binary COPY output cannot be scanned for card numbers: withhold it (fail closed).
      head.cmd.failed = true;
      out.push(errorMessage('0A000', 'binary COPY TO STDOUT cannot be masked by Vigil; use text or CSV format'));
      this.core.o.session.record({ type: 'error', command: head.cmd.id, code: '0A000', message: 'binary COPY output withheld: it cannot be masked' });
      return;
    }
    out.push(f.raw);
  }

  private onCopyData(f: BackendFrame, head: Pending | undefined, out: Buffer[]): void {
    const cmd = head && 'cmd' in head ? head.cmd : undefined;
    let m: Uint8Array;
    try {
      m = this.maskCopyData(f.body, cmd);
    } catch (e) {
      if (!(e instanceof MaskingError)) throw e;
      return this.withholdRows(head, out, e.message);
    }
    if (cmd) {
      cmd.rowsReturned++;
      if (cmd.rows.length < this.core.o.resultRowsCap) cmd.rows.push([recordValue(Buffer.from(m), 0, this.recordMasks)]);
    }
    out.push(m === f.body ? f.raw : toClient.copyData(m));
  }

  /** A COPY TO STDOUT row, masked by the provenance of its columns (copy-masker.ts). */
  private maskCopyData(body: Buffer, cmd: CommandResult | undefined): Uint8Array {
    const masks = this.core.o.session.masks;
    const index = cmd?.statement ?? 0;
    const columns = cmd?.outputs?.[index]?.exact ? cmd.outputs[index]!.columns : undefined;
    const sensitive = cmd?.outputs?.[index] ? cmd.outputs[index]!.referenced !== 'none' : false;
    if (!sensitive) return masks.bytes(body);
    const layout = cmd?.copyLayouts?.[index];
    const first = (cmd!.copyRows = (cmd!.copyRows ?? 0) + 1) === 1;
    const text = body.toString('utf8');
    const row = layout && columns ? maskCopyRow(text, layout, columns, first, (v, cls, plain) => copyField(v, cls, plain, masks)) : undefined;
    if (row === undefined) throw new MaskingError('Vigil could not split this COPY output into its columns, some of which hold card data');
    return row === text ? body : Buffer.from(row);
  }

  private onCommandDone(f: BackendFrame, head: Pending | undefined): void {
    if (!head || !('cmd' in head) || !head.cmd) return;
    const cmd = head.cmd;
    const tag = f.type === 'C' ? (f.decode() as { tag: string }).tag : f.type === 'I' ? '' : 'SUSPENDED';
    const { session } = this.core.o;
    const returned = cmd.rowsReturned;
    session.record({
      type: 'result',
      command: cmd.id,
      status: 'ok',
      tag,
      ...(cmd.columns ? { columns: cmd.columns } : {}),
      ...(cmd.rows.length ? { rows: cmd.rows } : {}),
      // What the server says it did (UPDATE n, INSERT 0 n …); a tag without a count: the rows it returned.
      rowCount: (f.type === 'C' ? tagRowCount(tag) : undefined) ?? returned,
      rowsOmitted: Math.max(0, returned - cmd.rows.length),
      ...(cmd.startedAt !== undefined ? { durationMs: Math.round((performance.now() - cmd.startedAt) * 1000) / 1000 } : {}),
      ...(cmd.heldMs !== undefined ? { heldMs: cmd.heldMs } : {}),
    });
    session.recordMasking(cmd.id);
    if (cmd.changesCatalog) this.core.o.catalog.invalidate();
    // A simple Query may hold several statements: each gets its own result.
    cmd.statement = (cmd.statement ?? 0) + 1;
    cmd.copyRows = 0;
    cmd.plan = undefined;
    cmd.columns = undefined;
    cmd.rows = [];
    cmd.rowsReturned = 0;
    cmd.startedAt = performance.now();
  }

  private onError(f: BackendFrame, head: Pending | undefined, out: Buffer[]): void {
    const rewrite = head && 'rewrite' in head ? head.rewrite : undefined;
    const cmd = head && 'cmd' in head ? head.cmd : undefined;
    const command = this.commandOf(head);
    if (rewrite) {
      out.push(toClient.errorResponse(rewrite));
      this.core.o.session.record({ type: 'error', ...about(command), code: rewrite.get('C'), message: rewrite.get('M') });
    } else if (cmd?.overLimit !== undefined) {
      // The server reports the gateway's cancel as a user's: say what really happened.
      const fields = decodeNoticeFields(f.body);
      const message = `canceling statement: it ran longer than the Vigil policy's maxStatementSeconds (${cmd.overLimit} s)`;
      out.push(toClient.errorResponse(new Map([['S', 'ERROR'], ['V', 'ERROR'], ['C', fields.get('C') ?? '57014'], ['M', message]])));
      this.core.o.session.record({ type: 'error', command: cmd.id, code: fields.get('C') ?? '57014', message });
    } else if (!cmd?.failed) {
      out.push(this.maskNotice(f, 'error', command, cmd?.redactMessages));
    }
    // Extended protocol: the failed message and all up to the next Sync take no effect (the gateway's own
    // notices among them still reach the client, in their place).
    if (head && head.kind !== 'query' && head.kind !== 'function') {
      for (const p of this.core.tracker.skipToSync()) if (p.kind === 'notice') out.push(p.bytes);
    }
  }

  /**
   * The recorded command an error answering `head` belongs to. A Bind's parameters are those of the Execute
   * of its portal: when that Execute is already on its way (the usual pipeline, Parse/Bind/Describe/Execute/
   * Sync), the error is its; otherwise the statement's (the Parse that prepared it).
   */
  private commandOf(head: Pending | undefined): number | undefined {
    if (!head) return undefined;
    if ('cmd' in head && head.cmd) return head.cmd.id;
    if (head.kind === 'bind') {
      const exec = this.core.tracker.ahead().find((p) => p.kind === 'execute' && p.portal === head.portal);
      if (exec && exec.kind === 'execute') return exec.cmd.id;
    }
    return 'command' in head ? head.command : undefined;
  }

  /** Masks card numbers in an ErrorResponse/NoticeResponse, records it, returns what to send. */
  private maskNotice(f: BackendFrame, kind: 'error' | 'notice', command?: number, redact?: boolean | 'reads'): Buffer {
    const fields = decodeNoticeFields(f.body, kind === 'error' ? 'ErrorResponse' : 'NoticeResponse');
    const masks = this.core.o.session.masks;
    const code = fields.get('C') ?? '';
    // A value computed from a card-security or PAN column can be quoted in any form (`"123x"`, reversed,
    // hashed): no pattern finds it, so the whole text goes.
    const replacement = redact === true ? REDACTED_MESSAGE : redact === 'reads' && quotesValues(code) ? readsMessage(code) : undefined;
    let changed = false;
    for (const [k, v] of fields) {
      // Message, detail, hint, context and internal query can carry values; severity, code and position cannot.
      const m = replacement !== undefined && 'MDHWq'.includes(k) ? replacement : masks.strict(v);
      if (m !== v) {
        fields.set(k, m);
        changed = true;
      }
    }
    this.core.o.session.record({
      type: kind,
      // An error that answers no command Vigil recorded (a Sync's, or one the server sends unasked) says so.
      ...(command !== undefined ? { command } : kind === 'error' ? { kind: 'target' } : {}),
      severity: fields.get('V') ?? fields.get('S'),
      code: fields.get('C'),
      message: truncateMessage(fields.get('M') ?? ''),
      ...(fields.has('D') ? { detail: truncateMessage(fields.get('D')!) } : {}),
    });
    if (!changed) return f.raw;
    return kind === 'error' ? toClient.errorResponse(fields) : toClient.noticeResponse(fields);
  }
}

/** How an error event names its command, or says it belongs to none (an error the target sent unasked). */
function about(command: number | undefined): { command: number } | { kind: 'target' } {
  return command !== undefined ? { command } : { kind: 'target' };
}

/** One COPY field, as its column's class says. */
function copyField(v: string, cls: ColumnClass, plain: boolean, masks: MaskCounter): string {
  if (cls === 'sad' || (cls === 'pan' && !plain)) return masks.redact();
  if (cls === 'pan') return maskPanColumn(Buffer.from(v), masks)?.toString('utf8') ?? v;
  return cls === 'cardholder' ? masks.strict(v) : masks.text(v);
}
