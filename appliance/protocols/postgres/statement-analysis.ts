/**
 * From a classified statement to what policy decides on, at the moment of the decision, with the session
 * as the server sees it: relation names resolved through the current search path to schema.name, and the
 * class raised by what the statement's function calls can do (catalog/function-effects.ts) — calls in
 * the statement itself, in SQL text it hands to a function (query_to_xml…), in the views it reads and in
 * the row-security policies of the relations it reads, and through user-defined operators. A FETCH (or
 * cursor_to_xml) of a portal the client bound through the protocol is the portal's statement.
 *
 * The classifier is stateless and cached by shape; this is per session, and asks the target's catalog
 * (catalog/target-catalog.ts) for what it does not know: prepare() loads, analyze() is synchronous.
 */
import type { CommandFacts } from '../../policy/engine.ts';
import { builtinFunction } from '../../sql/builtin-functions.ts';
import { globMatch } from '../../policy/glob.ts';
import type { Classification, ClassifiedStatement, FunctionRef, SqlClassifier, StatementClass } from '../../sql/index.ts';
import { constantArg, effectOfCall, ESCALATION_RANK, type CallEscalation } from './catalog/function-effects.ts';
import { needsSearchPath, pathEffect } from './catalog/path-effects.ts';
import { DEFINITION_PATH, functionCandidates, resolveRelation } from './catalog/resolve-names.ts';
import type { CatalogRelation, TargetCatalog } from './catalog/target-catalog.ts';
import { integrityRefusal, type Refusal } from './integrity.ts';
import type { StatementOutput } from './provenance/provenance.ts';
import type { ColumnClass } from './provenance/column-classes.ts';
import { computeSearchPath, type SessionSettings } from './session-settings.ts';

export interface AnalyzedCommand {
  facts: CommandFacts[];
  refusal: Refusal | undefined;
  /** Runs code Vigil cannot see into: settings may change behind it. */
  opaque: boolean;
  /** The search path after the command, when Vigil could follow it; 'unknown' when it cannot. */
  pathAfter: readonly string[] | 'unknown' | undefined;
  /** Changes the catalog (DDL and the like): what Vigil knows of it is out of date afterwards. */
  changesCatalog: boolean;
  /** Where each statement's output columns come from (set by the caller, provenance/result-provenance.ts). */
  outputs?: readonly (StatementOutput | undefined)[];
  /** The strictest class of what the statements read anywhere (set by the caller, like outputs). */
  reads?: ColumnClass;
}

export interface AnalyzerOptions {
  classifier: SqlClassifier;
  catalog: TargetCatalog;
  settings: SessionSettings;
  /** Functions (schema.name globs) the target's owner declared harmless. */
  trustedFunctions: readonly string[];
  /** The statement behind a protocol portal the client bound (by the name SQL uses), if any. */
  portalStatement: (name: string) => Classification | undefined;
}

/** How deep views of views and SQL handed to functions are followed before Vigil gives up (fails closed). */
const MAX_DEPTH = 4;

const CATALOG_CHANGING = new Set<StatementClass>(['ddl', 'dcl', 'admin', 'unknown', 'procedural']);

export const CATALOG_UNAVAILABLE: Refusal = { sqlstate: '0A000', rule: 'catalog', reason: 'Vigil could not read the target catalog it needs to resolve this statement' };
export const SESSION_SETTINGS_UNKNOWN: Refusal = {
  sqlstate: '0A000',
  rule: 'session-settings',
  reason: 'an earlier command in this pipeline may have changed how the server reads names and text (search_path, role, or code Vigil cannot see into), and Vigil cannot ask the server before this statement',
  hint: 'send Sync (or a separate query) before this statement, or qualify its names with their schema',
};

interface Verdict {
  escalation: CallEscalation;
  tags: string[];
  objects: string[];
}

const SETTINGS_VIEW_UPDATE: Refusal = {
  sqlstate: '0A000',
  rule: 'dynamic-setting',
  reason: 'an UPDATE of a view over pg_settings runs set_config with the names of the rows it matches: it could change how Vigil must read later statements',
};

export class SessionAnalyzer {
  constructor(private readonly o: AnalyzerOptions) {}

  /** Loads whatever analysis needs from the catalog; resolves at once when nothing is missing. */
  async prepare(c: Classification): Promise<void> {
    if (this.ready(c)) return;
    const seen = new Set<string>();
    let pending: ClassifiedStatement[] = [...c.statements];
    for (let depth = 0; depth < MAX_DEPTH && pending.length > 0; depth++) {
      const relations = new Set<string>();
      const functions = new Set<string>();
      let operators = false;
      for (const s of pending) {
        for (const r of s.relations) relations.add(r.parts[r.parts.length - 1]!);
        for (const a of s.attributeNames ?? []) functions.add(a);
        for (const f of s.functions) {
          functions.add(f.parts[f.parts.length - 1]!);
          const sql = this.nestedSql(f);
          for (const text of sql) this.classifyNested(text, seen, (st) => pending.push(st));
          const rel = this.relationArg(f);
          if (rel) relations.add(rel[rel.length - 1]!);
        }
        if (s.operators.length > 0) operators = true;
      }
      const { catalog } = this.o;
      await Promise.all([catalog.ensureRelations(relations), catalog.ensureFunctions(functions), operators ? catalog.ensureOperators() : undefined]);
      const next: ClassifiedStatement[] = [];
      const extraFunctions = new Set<string>();
      for (const name of relations) {
        for (const rel of catalog.relationsNamed(name) ?? []) {
          if (rel.definition) this.classifyNested(rel.definition, seen, (st) => next.push(st));
          for (const f of rel.policyFunctions) extraFunctions.add(f.slice(f.indexOf('.') + 1));
        }
      }
      for (const op of catalog.userOperators() ?? []) extraFunctions.add(op.functionName);
      await catalog.ensureFunctions(extraFunctions);
      pending = next.filter((s) => !pending.includes(s));
    }
  }

  /**
   * The hot path: every name of the statement is known and fresh, none is a view or has row-security
   * functions (whose own names would need loading too), and it hands no SQL to a function.
   */
  private ready(c: Classification): boolean {
    const { catalog } = this.o;
    for (const s of c.statements) {
      if (s.functions.some((f) => f.constants)) return false;
      const relations = s.relations.map((r) => r.parts[r.parts.length - 1]!);
      if (!catalog.fresh(relations, [...s.functions.map((f) => f.parts[f.parts.length - 1]!), ...(s.attributeNames ?? [])], s.operators.length > 0)) return false;
      for (const name of relations) if (catalog.relationsNamed(name)?.some((r) => r.definition !== null || r.policyFunctions.length > 0)) return false;
    }
    return true;
  }

  /** `fallback`: the settings could not be read (an aborted transaction): use what was last known. */
  analyze(c: Classification, opts: { fallback?: boolean } = {}): AnalyzedCommand {
    const integrity = integrityRefusal(c);
    const facts: CommandFacts[] = [];
    let refusal = integrity;
    let opaque = false;
    let changesCatalog = false;
    const settings = this.o.settings;
    let path: readonly string[] | undefined =
      settings.uncertainty === 'none' || opts.fallback ? (settings.known?.searchPath ?? (opts.fallback ? DEFINITION_PATH : undefined)) : undefined;
    let pathAfter: AnalyzedCommand['pathAfter'];
    for (const s of c.statements) {
      if (!integrity && needsSearchPath(s) && !path) refusal ??= SESSION_SETTINGS_UNKNOWN;
      const v = integrity ? undefined : this.verdict(s, path ?? [], 0);
      if (!integrity && this.updatesSettingsView(s, path ?? DEFINITION_PATH)) refusal ??= SETTINGS_VIEW_UPDATE;
      if (v === 'catalog') refusal ??= CATALOG_UNAVAILABLE;
      const verdict = v && v !== 'catalog' ? v : { escalation: 'none' as const, tags: [], objects: s.tables.slice() };
      const cls = escalate(s.class, verdict.escalation);
      const tags = [...s.tags, ...verdict.tags];
      if (cls !== s.class) tags.push(`escalated-from:${s.class}`);
      facts.push({ class: cls, command: s.command, tags, objects: verdict.objects, attributes: {} });
      if (verdict.tags.some((t) => t.startsWith('user-function:') || t.startsWith('unknown-function:')) || s.class === 'procedural' || cls === 'unknown') opaque = true;
      if (CATALOG_CHANGING.has(cls) || s.class === 'ddl') changesCatalog = true;
      // The first temporary object adds the session's temporary schema to the search path.
      if (s.class === 'ddl' && createsTemporary(s.tree)) {
        path = undefined;
        pathAfter = 'unknown';
      }
      const effect = pathEffect(s);
      if (effect.kind === 'set' && path && settings.known) {
        path = computeSearchPath(effect.values, settings.known);
        pathAfter = path;
      } else if (effect.kind === 'unknown' || (effect.kind === 'may-revert' && pathAfter !== undefined)) {
        path = undefined;
        pathAfter = 'unknown';
      }
    }
    return { facts, refusal, opaque, pathAfter, changesCatalog };
  }

  /**
   * An UPDATE (anywhere in the tree: EXPLAIN ANALYZE, a CTE) of a statement that names a view reading
   * pg_settings, at any depth: PostgreSQL's rewriter takes the UPDATE down to pg_settings, whose rule calls
   * set_config for each row matched. (An UPDATE of pg_settings by name is refused by the classifier.)
   */
  private updatesSettingsView(s: ClassifiedStatement, path: readonly string[]): boolean {
    const views = s.relations.map((r) => resolveRelation(r.parts, path, this.o.catalog)?.relation).filter((r) => r?.definition);
    if (!views.some((v) => this.readsSettings(v!, 0))) return false;
    return JSON.stringify(s.tree).includes('"UpdateStmt"');
  }

  private readsSettings(rel: CatalogRelation, depth: number): boolean {
    if (!rel.definition) return false;
    if (depth > MAX_DEPTH) return true;
    for (const st of this.o.classifier.classify(rel.definition).statements) {
      for (const r of st.relations) {
        if (r.parts[r.parts.length - 1] === 'pg_settings') return true;
        const inner = resolveRelation(r.parts, DEFINITION_PATH, this.o.catalog)?.relation;
        if (inner && this.readsSettings(inner, depth + 1)) return true;
      }
    }
    return false;
  }

  /** Objects and escalation of one statement; 'catalog' when the catalog lacks something it needs. */
  private verdict(s: ClassifiedStatement, path: readonly string[], depth: number): Verdict | 'catalog' {
    const { catalog } = this.o;
    const out: Verdict = { escalation: 'none', tags: [], objects: [] };
    const raise = (e: CallEscalation) => {
      if (ESCALATION_RANK[e] > ESCALATION_RANK[out.escalation]) out.escalation = e;
    };
    if (depth > MAX_DEPTH) {
      raise('unknown');
      out.tags.push('nesting-too-deep');
      return out;
    }
    for (const r of s.relations) if (this.readRelation(r.parts, path, depth, out) === 'catalog') return 'catalog';
    for (const f of s.functions) {
      const e = this.callVerdict(f, path, depth);
      if (e === 'catalog') return 'catalog';
      raise(e.escalation);
      out.tags.push(...e.tags);
      out.objects.push(...e.objects);
    }
    for (const name of s.attributeNames ?? []) {
      // Attribute notation: `t.f` is f(t) when t has no column f — also for a function whose later arguments
      // have defaults, or a variadic one. Fail closed: any function of that name taking arguments that is
      // not a built-in counts as called (a built-in takes no row type but json's, which provenance follows).
      const all = functionCandidates([name], path, catalog);
      if (!all) return 'catalog';
      const called = all.filter((f) => !f.builtin && f.nargs >= 1);
      if (called.length === 0) continue;
      const e = effectOfCall({ parts: [name], args: 1 }, called, (q) => this.o.trustedFunctions.some((g) => globMatch(g, q)));
      raise(e.escalation);
      out.tags.push(`attribute-call:${name}`, ...e.tags);
    }
    const ops = catalog.userOperators();
    if (s.operators.length > 0) {
      if (!ops) return 'catalog';
      for (const op of ops) {
        if (!s.operators.includes(op.name) || !path.includes(op.schema)) continue;
        const e = this.callVerdict({ parts: [op.functionSchema, op.functionName], args: 2 }, path, depth);
        if (e === 'catalog') return 'catalog';
        raise(e.escalation);
        out.tags.push(`operator:${op.schema}.${op.name}`, ...e.tags);
      }
    }
    const cursor = s.command === 'FETCH' || s.command === 'MOVE' ? fetchedPortal(s) : undefined;
    if (cursor !== undefined) {
      const inner = this.portalVerdict(cursor, depth);
      raise(inner.escalation);
      out.tags.push(...inner.tags);
    }
    out.tags = [...new Set(out.tags)];
    out.objects = [...new Set(out.objects)];
    return out;
  }

  private callVerdict(f: FunctionRef, path: readonly string[], depth: number): Verdict | 'catalog' {
    const candidates = functionCandidates(f.parts, path, this.o.catalog);
    if (!candidates) return 'catalog';
    const effect = effectOfCall(f, candidates, (q) => this.o.trustedFunctions.some((g) => globMatch(g, q)));
    const out: Verdict = { escalation: effect.escalation, tags: effect.tags, objects: [] };
    const b = effect.builtin;
    if (!b) return out;
    const raise = (e: CallEscalation) => {
      if (ESCALATION_RANK[e] > ESCALATION_RANK[out.escalation]) out.escalation = e;
    };
    const name = f.parts[f.parts.length - 1]!;
    if (b.category === 'runs-sql') {
      const texts = this.nestedSql(f);
      if (b.sqlArgs?.length === 0 || texts.length < (b.sqlArgs?.length ?? 1)) {
        raise('unknown');
        out.tags.push(`runs-dynamic-sql:${name}`);
        return out;
      }
      for (const text of texts) {
        const inner = this.o.classifier.classify(text);
        if (integrityRefusal(inner)) {
          raise('unknown');
          out.tags.push(`runs-unreadable-sql:${name}`);
          continue;
        }
        for (const st of inner.statements) {
          const v = this.verdict(st, path, depth + 1);
          if (v === 'catalog') return 'catalog';
          raise(v.escalation);
          raise(classEscalation(st.class));
          out.tags.push(`runs-sql:${name}`, ...v.tags);
          out.objects.push(...v.objects);
        }
      }
    } else if (b.category === 'reads-relation') {
      const parts = this.relationArg(f);
      if (!parts) {
        raise('unknown');
        out.tags.push(`reads-unnamed-relation:${name}`);
        return out;
      }
      if (this.readRelation(parts, path, depth, out) === 'catalog') return 'catalog';
    } else if (b.category === 'reads-schema' || b.category === 'reads-database') {
      const schema = b.category === 'reads-schema' ? constantArg(f, b.schemaArg) : '*';
      if (!schema) raise('unknown');
      out.objects.push(`${schema ?? '?'}.*`);
      // Views in what it reads run their own functions: Vigil cannot enumerate them cheaply.
      raise('write');
      out.tags.push(`reads-every-relation:${name}`);
    } else if (b.category === 'cursor') {
      const portal = constantArg(f, b.cursorArg);
      if (!portal) {
        raise('unknown');
        out.tags.push(`fetches-unnamed-portal:${name}`);
      } else {
        const inner = this.portalVerdict(portal, depth);
        raise(inner.escalation);
        out.tags.push(...inner.tags);
      }
    }
    return out;
  }

  /** A relation the statement reads: its resolved names join the objects, what reading it runs the verdict. */
  private readRelation(parts: readonly string[], path: readonly string[], depth: number, out: Verdict): 'catalog' | undefined {
    const resolved = resolveRelation(parts, path, this.o.catalog);
    if (!resolved) return 'catalog';
    out.objects.push(...resolved.names);
    if (!resolved.relation) return undefined;
    const inner = this.relationVerdict(resolved.relation, depth);
    if (inner === 'catalog') return 'catalog';
    if (ESCALATION_RANK[inner.escalation] > ESCALATION_RANK[out.escalation]) out.escalation = inner.escalation;
    out.tags.push(...inner.tags);
    return undefined;
  }

  /** What reading a relation runs: a view's own query, and the functions its row-security policies call. */
  private relationVerdict(rel: CatalogRelation, depth: number): Verdict | 'catalog' {
    const out: Verdict = { escalation: 'none', tags: [], objects: [] };
    const raise = (e: CallEscalation) => {
      if (ESCALATION_RANK[e] > ESCALATION_RANK[out.escalation]) out.escalation = e;
    };
    if (rel.definition) {
      const inner = this.o.classifier.classify(rel.definition);
      for (const st of inner.statements) {
        const v = this.verdict(st, DEFINITION_PATH, depth + 1);
        if (v === 'catalog') return 'catalog';
        raise(v.escalation);
        if (v.escalation !== 'none') out.tags.push(`via-view:${rel.schema}.${rel.name}`, ...v.tags);
      }
    }
    for (const q of rel.policyFunctions) {
      const dot = q.indexOf('.');
      const v = this.callVerdict({ parts: [q.slice(0, dot), q.slice(dot + 1)], args: -1 }, DEFINITION_PATH, depth + 1);
      if (v === 'catalog') return 'catalog';
      raise(v.escalation);
      if (v.escalation !== 'none') out.tags.push(`via-row-security:${rel.schema}.${rel.name}`, ...v.tags);
    }
    return out;
  }

  /** FETCH of (or cursor_to_xml on) a name: a protocol portal runs its statement; a DECLAREd cursor was decided at DECLARE. */
  private portalVerdict(name: string, depth: number): Verdict {
    const st = this.o.portalStatement(name);
    if (!st) return { escalation: 'none', tags: [], objects: [] };
    const inner = this.analyzeNested(st, depth);
    return { escalation: inner.escalation, tags: [`fetches-portal:${name}`, ...inner.tags], objects: inner.objects };
  }

  private analyzeNested(c: Classification, depth: number): Verdict {
    const out: Verdict = { escalation: 'none', tags: [], objects: [] };
    const path = this.o.settings.known?.searchPath ?? [];
    for (const st of c.statements) {
      const v = this.verdict(st, path, depth + 1);
      if (v === 'catalog') {
        out.escalation = 'unknown';
        continue;
      }
      const e = ESCALATION_RANK[v.escalation] > ESCALATION_RANK[classEscalation(st.class)] ? v.escalation : classEscalation(st.class);
      if (ESCALATION_RANK[e] > ESCALATION_RANK[out.escalation]) out.escalation = e;
      out.tags.push(...v.tags);
      out.objects.push(...v.objects);
    }
    return out;
  }

  private nestedSql(f: FunctionRef): string[] {
    const b = this.builtinOf(f);
    if (b?.category !== 'runs-sql') return [];
    return (b.sqlArgs ?? []).map((a) => constantArg(f, a)).filter((t): t is string => typeof t === 'string');
  }

  private relationArg(f: FunctionRef): string[] | undefined {
    const b = this.builtinOf(f);
    if (b?.category !== 'reads-relation') return undefined;
    const text = constantArg(f, b.relationArg);
    return typeof text === 'string' ? parseQualifiedName(text) : undefined;
  }

  /** The reviewed built-in a call with constant arguments names (only those carry what nested analysis needs). */
  private builtinOf(f: FunctionRef) {
    return f.constants ? builtinFunction(f.parts[f.parts.length - 1]!, f.args) : undefined;
  }

  private classifyNested(text: string, seen: Set<string>, push: (s: ClassifiedStatement) => void): void {
    if (seen.has(text)) return;
    seen.add(text);
    for (const st of this.o.classifier.classify(text).statements) push(st);
  }
}

/** What a statement class means as an escalation of the statement that ran it. */
function classEscalation(c: StatementClass): CallEscalation {
  switch (c) {
    case 'read':
    case 'session':
    case 'transaction':
    case 'copy-out':
      return 'none';
    case 'resource':
      return 'resource';
    case 'procedural':
    case 'program':
      return 'procedural';
    case 'admin':
      return 'admin';
    case 'unknown':
      return 'unknown';
    default:
      return 'write';
  }
}

/** Classes that no call escalates further (already the most restrictive for what they are). */
const FINAL = new Set<StatementClass>(['unknown', 'program', 'admin']);

function escalate(base: StatementClass, e: CallEscalation): StatementClass {
  if (e === 'none' || FINAL.has(base)) return base;
  if (e === 'unknown') return 'unknown';
  if (e === 'admin') return 'admin';
  if (e === 'procedural') return base === 'role-change' ? base : 'procedural';
  if (e === 'write') return base === 'read' || base === 'session' || base === 'transaction' || base === 'copy-out' || base === 'resource' ? 'write' : base;
  // resource
  return base === 'read' || base === 'session' || base === 'copy-out' ? 'resource' : base;
}

/** `schema.table`, `"My Schema"."T"`, `t`: a relation named in text the way regclass input reads it. */
export function parseQualifiedName(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i <= s.length) {
    if (s[i] === '"') {
      let j = i + 1;
      let part = '';
      for (; j < s.length; j++) {
        if (s[j] === '"') {
          if (s[j + 1] === '"') {
            part += '"';
            j++;
          } else break;
        } else part += s[j];
      }
      if (j >= s.length) return undefined;
      parts.push(part);
      i = j + 1;
    } else {
      const j = s.indexOf('.', i);
      const part = (j < 0 ? s.slice(i) : s.slice(i, j)).trim();
      if (part === '') return undefined;
      parts.push(part.toLowerCase());
      i = j < 0 ? s.length : j;
    }
    if (i >= s.length) break;
    if (s[i] !== '.') return undefined;
    i++;
  }
  return parts.length >= 1 && parts.length <= 3 ? parts : undefined;
}

/** The portal name a FETCH/MOVE reads from (its parse tree), if it names one. */
function fetchedPortal(s: ClassifiedStatement): string | undefined {
  const t = s.tree as { FetchStmt?: { portalname?: unknown } } | undefined;
  const name = t?.FetchStmt?.portalname;
  return typeof name === 'string' ? name : undefined;
}

/** A CREATE of a temporary relation (its RangeVar's relpersistence 't', wherever the statement holds it). */
function createsTemporary(tree: unknown): boolean {
  return JSON.stringify(tree ?? null).includes('"relpersistence":"t"');
}
