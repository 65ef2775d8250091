/**
 * Client → target: every statement (Query, Parse) is checked for what the gateway can police, classified
 * on its parse tree and decided by policy; every execution (Query, Execute) is recorded with its masked
 * parameters and decided on what it will really run — a portal on the statement it was bound to, with the
 * names resolved as they are now. Nothing is forwarded before the pipeline's durability barrier (the core
 * flushes). A refused command is never sent: a command that fails harmlessly takes its place and its
 * failure is rewritten into the refusal, so the server itself keeps transaction and pipeline state exact.
 */
import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { CommandFacts } from '../../policy/engine.ts';
import type { CommandDecision } from '../../pipeline/session.ts';
import type { Classification } from '../../sql/index.ts';
import { deniedErrorFields, policyErrorFields, refusalErrorFields } from './client-errors.ts';
import { exactCommandBytes } from './command-bytes.ts';
import { needsSearchPath } from './catalog/path-effects.ts';
import { DEFINITION_PATH } from './catalog/resolve-names.ts';
import { integrityRefusal, INVALID_UTF8, refusalRule, type Refusal } from './integrity.ts';
import { setsStatementTimeout, timeoutProblem } from './statement-limits.ts';
import type { PlanContext } from './provenance/mask-plan.ts';
import { ResultProvenance } from './provenance/result-provenance.ts';
import { opaqueCodeReadsCardData } from './provenance/opaque-code.ts';
import { sideChannelRefusal } from './provenance/side-channels.ts';
import { copyLayout } from './provenance/copy-masker.ts';
import type { ProxyCore } from './proxy-core.ts';
import { MAX_RECORDED_PARAM_CHARS, recordValue } from './record-values.ts';
import type { CommandResult } from './response-tracker.ts';
import { CATALOG_UNAVAILABLE, SESSION_SETTINGS_UNKNOWN, SessionAnalyzer, type AnalyzedCommand } from './statement-analysis.ts';
import { copyParams, type BoundPortal, type PreparedStatement } from './statements.ts';
import {
  decodeBind,
  decodeExecute,
  decodeFrontendMessage,
  decodeParse,
  decodeQuery,
  displayName,
  formatOf,
  toClient,
  toServer,
  type FrontendFrame,
} from './wire/index.ts';


/** A statement no server can run: sent in place of a refused one so the server itself reports the error. */
export const REFUSED_SQL = 'VIGIL REFUSED THIS STATEMENT';

/** A name for the gateway's own syntax-check statements (closed right after). */
const checkName = () => `vigil-check-${randomBytes(6).toString('hex')}`;
/** The name operation of a message about a name of the gateway's own: nothing to settle. */
const NO_NAME = { settle: () => undefined };

/** What a refused simple Query turns into (its error is rewritten). */
const refusedQuery = () => toServer.query(REFUSED_SQL);
/** Executing a portal that does not exist fails harmlessly; that failure becomes the refusal. */
const refusedExecute = () => toServer.execute(`vigil-refused-${randomBytes(6).toString('hex')}`);

export class ClientCommands {
  readonly analyzer: SessionAnalyzer;
  readonly provenance: ResultProvenance;
  readonly planContext: PlanContext;

  constructor(private readonly core: ProxyCore) {
    const o = core.o;
    this.analyzer = new SessionAnalyzer({
      classifier: o.classifier,
      catalog: o.catalog,
      settings: core.settings,
      trustedFunctions: o.trustedFunctions,
      // SQL names a portal by its identifier; the protocol by its bytes.
      portalStatement: (name) => core.portals.get(nameKey(name))?.statement?.classification,
    });
    this.provenance = new ResultProvenance(o.catalog, o.classRules, (sql) => o.classifier.classify(sql), (name) => core.portals.get(nameKey(name))?.statement?.classification);
    this.planContext = this.provenance.planContext(o.maskPolicy.unmaskColumns);
  }

  async onQuery(frame: FrontendFrame): Promise<void> {
    const c = this.core;
    const m = decodeQuery(frame.body);
    const { classification, text } = this.classify(m.sql, m.sqlBytes);
    const analyzed = await this.analyzeText(classification, m.sqlBytes);
    const cmd = this.decide({ kind: 'sql', mode: 'simple', text, classification, analyzed });
    const d = cmd.decision;
    if (d.action !== 'block') {
      this.takesEffect(analyzed);
      this.cursorsChange(classification, m, text, cmd.id);
    }
    if (d.action !== 'block' && analyzed.facts.some((x) => /^(PREPARE|DEALLOCATE|DISCARD)\b/.test(x.command))) {
      // SQL-level PREPARE, DEALLOCATE and DISCARD change what statement names mean behind the protocol's
      // back: forget them all, so a Bind to any of them is judged unknown until the client prepares it again.
      c.statements.clear();
      if (analyzed.facts.some((x) => x.command === 'DISCARD ALL')) c.portals.clear();
    }
    if (d.action === 'allow') return c.forward(frame.raw, { kind: 'query', cmd: this.result(cmd.id, analyzed, classification) });
    if (d.action === 'block' && analyzed.refusal?.rule === 'unparsable') {
      const tmp = checkName();
      const check = Buffer.concat([toServer.byName.parse(tmp, m.sql), toServer.close('S', tmp), toServer.sync()]);
      return c.forward(check, { kind: 'check', cmd: undefined, refusal: this.blockFields(d, analyzed.refusal), command: cmd.id, failed: false });
    }
    if (d.action === 'block') return c.forward(refusedQuery(), { kind: 'query', cmd: undefined, rewrite: this.blockFields(d, analyzed.refusal), command: cmd.id });
    const result = this.result(cmd.id, analyzed, classification);
    const outcome = await this.hold(cmd, result, text, exactCommandBytes('Q', m.sqlBytes), classification, justificationOf(m.sql));
    if (outcome.approved) return c.forward(frame.raw, { kind: 'query', cmd: result });
    c.forward(refusedQuery(), { kind: 'query', cmd: undefined, rewrite: deniedErrorFields(d.rule, outcome.reason), command: cmd.id });
  }

  async onParse(frame: FrontendFrame): Promise<void> {
    const c = this.core;
    const m = decodeParse(frame.body);
    const { classification, text } = this.classify(m.sql, m.sqlBytes);
    const analyzed = await this.analyzeText(classification, m.sqlBytes);
    // Preparing runs nothing: a statement that needs approval is held at Execute, with its parameters.
    const cmd = this.decide({ kind: 'sql-prepare', mode: 'extended', text, classification, analyzed, prepareOnly: true, extra: { statement: displayName(m.name) } });
    const refused = cmd.decision.action === 'block';
    const statement: PreparedStatement = { name: displayName(m.name), sql: m.sql, sqlBytes: Buffer.from(m.sqlBytes), text, classification, commandId: cmd.id, refused };
    // PostgreSQL drops the unnamed statement before parsing the new one, so a failed Parse leaves it empty.
    const name = c.statements.set(m.name, statement, m.name === '' ? 'absent' : 'vanish');
    if (refused) {
      // The server fails this Parse and skips to the next Sync, exactly as if it had refused it.
      const d = cmd.decision as Extract<CommandDecision['decision'], { action: 'block' }>;
      if (analyzed.refusal?.rule === 'unparsable') {
        // First the server parses it (never runs it): a syntax error it reports itself skips the rest.
        const tmp = checkName();
        c.forward(toServer.byName.parse(tmp, m.sql), { kind: 'parse', name: NO_NAME, swallow: true, command: cmd.id });
        c.forward(toServer.close('S', tmp), { kind: 'close', name: NO_NAME, swallow: true, command: cmd.id });
      }
      c.forward(toServer.byName.parse(m.name, REFUSED_SQL), { kind: 'parse', rewrite: this.blockFields(d, analyzed.refusal), name, command: cmd.id });
      return;
    }
    c.forward(frame.raw, { kind: 'parse', name, command: cmd.id });
  }

  onBind(frame: FrontendFrame): void {
    const c = this.core;
    const m = decodeBind(frame.body);
    const statement = c.statements.get(m.statement);
    const sensitive = new Set(statement?.classification.statements.flatMap((s) => s.sensitive.flatMap((b) => (b.kind === 'param' ? [b.index] : []))) ?? []);
    const masks = c.o.session.masks;
    const recordedParams = m.params.map((v, i) =>
      sensitive.has(i + 1) ? (v === null ? null : masks.redact()) : recordValue(v, formatOf(m.paramFormats, i), masks, MAX_RECORDED_PARAM_CHARS),
    );
    const portal: BoundPortal = {
      name: displayName(m.portal),
      statement,
      params: copyParams(m.params),
      paramFormats: m.paramFormats,
      resultFormats: m.resultFormats,
      recordedParams,
      fields: undefined,
      describing: false,
      boundAt: c.syncsSent,
    };
    c.forward(frame.raw, { kind: 'bind', name: c.portals.set(m.portal, portal), portal, ...(statement ? { command: statement.commandId } : {}) });
  }

  async onExecute(frame: FrontendFrame): Promise<void> {
    const c = this.core;
    const m = decodeExecute(frame.body);
    const portal = c.portals.get(m.portal);
    const st = portal?.statement;
    // Decided now, on the statement the portal was bound to, with names as they resolve now.
    const analyzed: AnalyzedCommand = st
      ? await this.analyzeStatement(st.classification, false)
      : { facts: [{ class: 'unknown', command: 'EXECUTE', tags: ['unknown-statement'], objects: [], attributes: {} }], refusal: undefined, opaque: false, pathAfter: undefined, changesCatalog: false };
    const cmd = this.decide({
      kind: 'sql',
      mode: 'extended',
      text: st?.text ?? `<execute portal "${displayName(m.portal)}" of a statement Vigil did not see prepared>`,
      classification: st?.classification,
      analyzed,
      ...(portal ? { params: portal.recordedParams } : {}),
      extra: { portal: displayName(m.portal), statement: st?.name ?? null, ...(st ? { prepared: st.commandId } : {}), ...(m.maxRows ? { maxRows: m.maxRows } : {}) },
    });
    const d = cmd.decision;
    const result = this.result(cmd.id, analyzed, st?.classification);
    let rewrite: Map<string, string> | undefined;
    if (d.action === 'block') {
      rewrite = this.blockFields(d, analyzed.refusal);
    } else if (d.action === 'require-approval') {
      const exact = exactCommandBytes('E', st?.sqlBytes ?? Buffer.alloc(0), portal?.params, portal?.paramFormats);
      const outcome = await this.hold(cmd, result, st?.text ?? '', exact, st?.classification, st ? justificationOf(st.sql) : undefined);
      if (!outcome.approved) rewrite = deniedErrorFields(d.rule, outcome.reason);
    }
    if (rewrite) return c.forward(refusedExecute(), { kind: 'execute', cmd: result, portal, rewrite });
    this.takesEffect(analyzed, result);
    if (portal && !portal.fields && !portal.describing) {
      // The masker needs the row layout; ask the server for it without showing the answer to the client.
      portal.describing = true;
      c.forward(toServer.byName.describePortal(m.portal), { kind: 'describe', target: 'P', portal, swallow: true, command: cmd.id });
    }
    c.forward(frame.raw, { kind: 'execute', cmd: result, portal });
  }

  onDescribe(frame: FrontendFrame): void {
    const c = this.core;
    const m = decodeFrontendMessage('D', frame.body) as { kind: 'S' | 'P'; name: string };
    const portal = m.kind === 'P' ? c.portals.get(m.name) : undefined;
    if (portal) portal.describing = true;
    const command = (m.kind === 'P' ? portal?.statement : c.statements.get(m.name))?.commandId;
    c.forward(frame.raw, { kind: 'describe', target: m.kind, portal, swallow: false, ...(command !== undefined ? { command } : {}) });
  }

  onClose(frame: FrontendFrame): void {
    const c = this.core;
    const m = decodeFrontendMessage('C', frame.body) as { kind: 'S' | 'P'; name: string };
    const command = (m.kind === 'S' ? c.statements.get(m.name) : c.portals.get(m.name)?.statement)?.commandId;
    const name = m.kind === 'S' ? c.statements.set(m.name, undefined) : c.portals.set(m.name, undefined);
    c.forward(frame.raw, { kind: 'close', name, ...(command !== undefined ? { command } : {}) });
  }

  onFunctionCall(frame: FrontendFrame): void {
    const c = this.core;
    const facts: CommandFacts = { class: 'procedural', command: 'FUNCTION CALL', tags: ['fastpath'], objects: [], attributes: this.attributes('fastpath') };
    const cmd = c.o.session.decide({ kind: 'sql', text: '<fastpath function call>', facts: [facts], unholdable: 'this command needs approval, and fastpath function calls cannot be held for approval' });
    c.recorded();
    if (cmd.decision.action === 'allow') {
      c.settings.opaque(c.syncsSent);
      return c.forward(frame.raw, { kind: 'function', cmd: this.result(cmd.id) });
    }
    const d = cmd.decision as Extract<CommandDecision['decision'], { action: 'block' }>;
    c.forward(refusedQuery(), { kind: 'function', cmd: undefined, rewrite: policyErrorFields(d.rule, d.reason), command: cmd.id });
  }

  result(id: number, analyzed?: AnalyzedCommand, c?: Classification): CommandResult {
    return {
      id,
      startedAt: undefined,
      plan: undefined,
      columns: undefined,
      rows: [],
      rowsReturned: 0,
      ...(analyzed?.changesCatalog ? { changesCatalog: true } : {}),
      ...(analyzed?.outputs ? { outputs: analyzed.outputs } : {}),
      ...(c && opaqueCodeReadsCardData(c, this.core.o.classRules)
        ? { redactMessages: true }
        : analyzed?.reads === 'sad' || analyzed?.reads === 'pan'
          ? { redactMessages: 'reads' as const }
          : {}),
      ...(c?.statements.some((s) => s.command === 'COPY TO STDOUT') ? { copyLayouts: c.statements.map((s) => copyLayout(s.tree)) } : {}),
    };
  }

  private classify(sql: string, bytes: Buffer): { classification: Classification; text: string } {
    const classifier = this.core.o.classifier;
    const classification = classifier.classify(sql);
    // Invalid UTF-8 is refused whole: nothing of what Vigil decoded can be trusted to be what the server reads.
    const redacted = isUtf8(bytes) ? classifier.redactForRecording(sql, classification) : '<statement text is not valid UTF-8>';
    return { classification, text: this.core.o.session.masks.evidence(redacted) };
  }

  /** A statement text the client sent: refused when not valid UTF-8, analysed with the session as it is now. */
  private async analyzeText(c: Classification, bytes: Buffer): Promise<AnalyzedCommand> {
    if (!isUtf8(bytes)) return { ...this.analyzer.analyze(c), refusal: INVALID_UTF8 };
    if (integrityRefusal(c)) return this.analyzer.analyze(c);
    return this.analyzeStatement(c, true);
  }

  /**
   * Reads the session settings again when they may have changed (after code Vigil cannot see into: before
   * any text; after a path change: before a statement whose names depend on it), then loads what the
   * catalog must tell and analyses. `text`: the statement arrives as text now (not an Execute).
   */
  private async analyzeStatement(c: Classification, text: boolean): Promise<AnalyzedCommand> {
    const core = this.core;
    const st = core.settings;
    const needsPath = c.statements.some(needsSearchPath);
    let gate: Refusal | undefined;
    let fallback = false;
    if ((text && st.uncertainty === 'all') || ((st.uncertainty !== 'none' || !st.known) && needsPath)) {
      if (!core.canReachIdle()) gate = SESSION_SETTINGS_UNKNOWN;
      else if (!(await core.probe())) {
        // In an aborted transaction the probe fails as every statement does, and the server refuses them all.
        if (core.txStatus === 'E') fallback = true;
        else gate = SESSION_SETTINGS_UNKNOWN;
      }
    }
    try {
      await this.analyzer.prepare(c);
    } catch (e) {
      core.o.logger.warn({ sessionId: core.o.session.id, err: String(e) }, 'could not read the target catalog');
      return { ...this.analyzer.analyze(c, { fallback }), refusal: CATALOG_UNAVAILABLE };
    }
    const analyzed = this.analyzer.analyze(c, { fallback });
    analyzed.outputs = this.provenance.outputs(c, core.settings.known?.searchPath ?? DEFINITION_PATH);
    analyzed.reads = this.provenance.reads(c, core.settings.known?.searchPath ?? DEFINITION_PATH);
    const refusal = analyzed.refusal ?? gate ?? sideChannelRefusal(c, analyzed.reads) ?? this.limitRefusal(c) ?? this.derivedPanRefusal(analyzed.outputs);
    return refusal ? { ...analyzed, refusal } : analyzed;
  }

  /**
   * SQL CLOSE and DECLARE act on the same portals the protocol's Bind and Execute use: a protocol Execute
   * of a DECLAREd cursor runs the cursor's query, so the portal table must know it.
   */
  private cursorsChange(c: Classification, m: { sql: string; sqlBytes: Buffer }, text: string, commandId: number): void {
    for (const s of c.statements) {
      const tree = s.tree as { ClosePortalStmt?: { portalname?: string }; DeclareCursorStmt?: { portalname?: string } } | undefined;
      if (tree?.ClosePortalStmt) {
        const name = tree.ClosePortalStmt.portalname;
        if (name === undefined) this.core.portals.clear();
        else this.core.portals.set(nameKey(name), undefined).settle(true);
      } else if (tree?.DeclareCursorStmt?.portalname !== undefined) {
        const name = tree.DeclareCursorStmt.portalname;
        const statement: PreparedStatement = {
          name: `<cursor ${name}>`,
          sql: m.sql,
          sqlBytes: Buffer.from(m.sqlBytes),
          text,
          classification: { statements: [s], fingerprint: c.fingerprint, cacheHit: c.cacheHit },
          commandId,
          refused: false,
        };
        const portal: BoundPortal = { name, statement, params: [], paramFormats: [], resultFormats: [], recordedParams: [], fields: undefined, describing: false, boundAt: this.core.syncsSent };
        this.core.portals.set(nameKey(name), portal).settle(true);
      }
    }
  }

  /** A command goes to the server: what it does to the session's settings and to the catalog. */
  private takesEffect(a: AnalyzedCommand, result?: CommandResult): void {
    const c = this.core;
    if (a.opaque) c.settings.opaque(c.syncsSent);
    if (Array.isArray(a.pathAfter)) c.settings.pathSet(a.pathAfter, c.syncsSent);
    else if (a.pathAfter === 'unknown') c.settings.pathUnknown(c.syncsSent);
    if (a.changesCatalog) {
      c.o.catalog.invalidate();
      if (result) result.changesCatalog = true;
    }
  }

  /** PostgreSQL's attributes of a command's facts (docs/policy.md, "Attributes"). */
  private attributes(mode: 'simple' | 'extended' | 'fastpath'): Record<string, string> {
    return { database: this.core.o.database, queryMode: mode };
  }

  private decide(cmd: {
    kind: string;
    /** Which message carried it: a simple Query, or Parse/Execute of the extended protocol. */
    mode: 'simple' | 'extended';
    text: string;
    classification: Classification | undefined;
    analyzed: AnalyzedCommand;
    params?: readonly (string | null)[];
    prepareOnly?: boolean;
    extra?: Record<string, unknown>;
  }): CommandDecision {
    const { session } = this.core.o;
    const parseError = cmd.classification?.parseError;
    const decided = session.decide({
      kind: cmd.kind,
      text: cmd.text,
      facts: cmd.analyzed.facts.map((f) => ({ ...f, attributes: { ...f.attributes, ...this.attributes(cmd.mode) } })),
      ...(cmd.prepareOnly ? { prepareOnly: true } : {}),
      ...(cmd.analyzed.refusal ? { refusal: { rule: refusalRule(cmd.analyzed.refusal), reason: cmd.analyzed.refusal.reason } } : {}),
      fields: {
        ...(cmd.params ? { params: cmd.params } : {}),
        ...(cmd.classification ? { fingerprint: cmd.classification.fingerprint } : {}),
      },
      extra: { ...cmd.extra, ...(parseError ? { parseError } : {}) },
    });
    session.recordMasking(decided.id);
    this.core.recorded();
    return decided;
  }

  private blockFields(d: { rule: string; reason: string }, refusal: Refusal | undefined): Map<string, string> {
    return refusal && !refusal.policy ? refusalErrorFields(refusal) : policyErrorFields(d.rule, d.reason);
  }

  /** `postgres.masking.derivedPan: block`: a statement returning a computed value of a PAN column does not run. */
  private derivedPanRefusal(outputs: AnalyzedCommand['outputs']): Refusal | undefined {
    const policy = this.core.o.session.policy;
    if (!policy || this.core.o.maskPolicy.derivedPan !== 'block') return undefined;
    const derived = outputs?.some((o) => o?.columns.some((f) => f.prov.cls === 'pan' && !f.prov.plain));
    if (!derived) return undefined;
    return { sqlstate: '42501', rule: `${policy.name}/masking`, reason: 'the statement returns a value computed from a card-number column, which this policy does not allow (postgres.masking.derivedPan: block)', policy: true };
  }

  /** The policy's maxStatementSeconds: no statement may lift the server's statement_timeout above it. */
  private limitRefusal(c: Classification): Refusal | undefined {
    const policy = this.core.o.session.policy;
    const max = policy?.config.limits.maxStatementSeconds;
    if (!policy || max === undefined) return undefined;
    for (const s of c.statements) {
      const value = setsStatementTimeout(s);
      if (value === undefined) continue;
      const problem = timeoutProblem(value === 'unreadable' ? undefined : value, max);
      if (problem) return { sqlstate: '42501', rule: `${policy.name}/limits`, reason: problem, policy: true };
    }
    return undefined;
  }

  /** Holds `cmd` until it is decided; `result` learns when the hold began (its heldMs is set at release). */
  private async hold(cmd: CommandDecision, result: CommandResult, display: string, exactBytes: Buffer, classification: Classification | undefined, justification: string | undefined) {
    const c = this.core;
    result.heldFrom = performance.now();
    // The hold's NOTICE reaches the client after the answers to what it sent before (tellClient keeps the
    // order); a Flush makes the server send those now rather than at the next Sync.
    if (c.tracker.size > 0) c.forward(toServer.flush());
    await c.flush();
    c.holds++;
    try {
      return await c.o.session.hold(
      cmd,
      { display, exactBytes, classification: classification?.statements ?? [], ...(justification ? { justification } : {}) },
      (info) =>
        // Tell the waiting client, in its own protocol, what is going on and how to get it approved.
        c.tellClient(
          toClient.noticeResponse({
            severity: 'NOTICE',
            code: '01000',
            message: `Vigil is holding this command for approval (request ${info.requestId}); it runs once approved, until ${info.expiresAt}`,
            hint: info.howTo,
          }),
        ),
      );
    } finally {
      c.holds--;
    }
  }
}

/** The portal-table key of a name SQL gives as an identifier (the protocol's names are byte-exact). */
function nameKey(identifier: string): string {
  return Buffer.from(identifier, 'utf8').toString('latin1');
}

/** The documented justification convention: a SQL comment `-- vigil:justification=…` (or `/* vigil:justification=… *\/`). */
export function justificationOf(sql: string): string | undefined {
  const m = /vigil:justification=([^\n*]{1,500})/.exec(sql);
  return m ? m[1]!.trim() : undefined;
}
