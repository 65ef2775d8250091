/**
 * Least-privilege policy. For an identity and a target, the first policy (in file order) whose `match`
 * and `targets` fit governs the session; none → no access. For each command, the policy's rules are
 * tried in order (first match wins), then its per-class actions, then `default`; anything unlisted —
 * including the class `unknown` — is blocked.
 */
import type { Action, PolicyConfig, RuleConfig, ScheduleConfig } from './config.ts';
import { anyGlob, globMatch } from './glob.ts';

export interface PolicySubject {
  provider: string;
  subject: string;
  groups: readonly string[];
}

/** What policy needs to know about one command (one SQL statement, one shell line, one k8s request). */
export interface CommandFacts {
  class: string;
  command: string;
  tags: readonly string[];
  tables: readonly string[];
}

export type Decision =
  | { action: 'allow'; rule: string }
  | { action: 'block'; rule: string; reason: string }
  | { action: 'require-approval'; rule: string; reason: string; approvers: { groups: string[]; required: number; expirySeconds?: number | undefined } };

const SEVERITY: Record<Action, number> = { allow: 0, 'require-approval': 1, block: 2 };

export type Grant = { ok: true; policy: BoundPolicy } | { ok: false; reason: string };

export interface PolicyContext {
  schedules?: Readonly<Record<string, ScheduleConfig>>;
  now?: () => Date;
}

export class PolicyEngine {
  constructor(
    private readonly policies: readonly PolicyConfig[],
    private readonly ctx: PolicyContext = {},
  ) {}

  grant(who: PolicySubject, target: string): Grant {
    for (const p of this.policies) {
      const m = p.match;
      if (!anyGlob(m.subjects, [who.subject]) || !anyGlob(m.groups, who.groups) || !anyGlob(m.providers, [who.provider])) continue;
      if (!p.targets.some((t) => globMatch(t, target))) continue;
      return { ok: true, policy: new BoundPolicy(p, this.ctx) };
    }
    return { ok: false, reason: `no policy grants ${who.subject} access to target ${target}` };
  }
}

export class BoundPolicy {
  constructor(
    readonly config: PolicyConfig,
    private readonly ctx: PolicyContext = {},
  ) {}

  get name(): string {
    return this.config.name;
  }

  decide(f: CommandFacts): Decision {
    for (const r of this.config.rules) if (ruleMatches(r, f) && this.inWindow(r)) return fromRule(this.config, r, f);
    const byClass = this.config.statements[f.class];
    // `default` never covers `unknown`: what Vigil could not classify runs only where a policy names it.
    const byDefault = f.class === 'unknown' ? undefined : this.config.statements['default'];
    const action = byClass ?? byDefault ?? 'block';
    const rule = `${this.config.name}/${byClass ? f.class : byDefault ? 'default' : 'unlisted'}`;
    if (action === 'allow') return { action, rule };
    const reason = `${f.command} (${f.class}) is ${action === 'block' ? 'not allowed' : 'allowed only with approval'} for this identity on this target`;
    if (action === 'block') return { action, rule, reason };
    return { action, rule, reason, approvers: this.config.approvers! };
  }

  private inWindow(r: RuleConfig): boolean {
    const { within, outside } = r.when;
    if (!within && !outside) return true;
    const now = (this.ctx.now ?? (() => new Date()))();
    const check = (name: string) => {
      const s = this.ctx.schedules?.[name];
      return s ? inSchedule(s, now) : false;
    };
    return (!within || check(within)) && (!outside || !check(outside));
  }

  /** One decision for several statements sent together: the most restrictive wins. */
  decideAll(statements: readonly CommandFacts[]): Decision {
    let worst: Decision | undefined;
    for (const s of statements) {
      const d = this.decide(s);
      if (!worst || SEVERITY[d.action] > SEVERITY[worst.action]) worst = d;
    }
    return worst ?? { action: 'allow', rule: `${this.config.name}/empty` };
  }
}

function ruleMatches(r: RuleConfig, f: CommandFacts): boolean {
  const w = r.when;
  if (w.classes && !w.classes.includes(f.class)) return false;
  if (w.tags && !w.tags.some((t) => f.tags.includes(t))) return false;
  if (w.commands && !w.commands.some((c) => c.toUpperCase() === f.command.toUpperCase())) return false;
  if (w.tables && !tablesMatch(w.tables, w.tablesMatch ?? (r.action === 'allow' ? 'all' : 'any'), f.tables)) return false;
  return true;
}

/** A pattern without a dot names a relation in any schema. */
function objectMatches(pattern: string, object: string): boolean {
  return globMatch(pattern.includes('.') ? pattern : `*.${pattern}`, object) || globMatch(pattern, object);
}

function tablesMatch(patterns: readonly string[], mode: 'all' | 'any', objects: readonly string[]): boolean {
  if (objects.length === 0) return false;
  const matches = (o: string) => patterns.some((p) => objectMatches(p, o));
  return mode === 'all' ? objects.every(matches) : objects.some(matches);
}

function fromRule(policy: PolicyConfig, r: RuleConfig, f: CommandFacts): Decision {
  const rule = `${policy.name}/${r.name}`;
  if (r.action === 'allow') return { action: 'allow', rule };
  const reason = r.reason ?? `${f.command} matches rule ${r.name}`;
  if (r.action === 'block') return { action: 'block', rule, reason };
  return { action: 'require-approval', rule, reason, approvers: (r.approvers ?? policy.approvers)! };
}

const WEEKDAY: Record<string, string> = { Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat', Sun: 'sun' };

/** Whether `at` falls inside the schedule's days and hours, in the schedule's time zone. */
export function inSchedule(s: ScheduleConfig, at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: s.timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = WEEKDAY[get('weekday')];
  const time = `${get('hour')}:${get('minute')}`;
  return day !== undefined && (s.days as readonly string[]).includes(day) && time >= s.from && time < s.to;
}
