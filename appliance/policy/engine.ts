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

/**
 * What policy needs to know about one command (one SQL statement, one shell line, one k8s request), in
 * words no protocol owns: the adapter says what its class, label, tags, objects and attributes are.
 */
export interface CommandFacts {
  class: string;
  command: string;
  tags: readonly string[];
  /** Resolved names of what it touches (PostgreSQL: `schema.table` relations; SSH: hosts, paths). */
  objects: readonly string[];
  /** Protocol-specific facts rules can match with `when.attributes` (PostgreSQL: database, queryMode). */
  attributes: Readonly<Record<string, string>>;
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

  /** `protocol`: the session's (postgres, ssh…), for `when.protocols`. */
  decide(f: CommandFacts, protocol: string): Decision {
    for (const r of this.config.rules) if (ruleMatches(r, f, protocol) && this.inWindow(r)) return fromRule(this.config, r, f);
    const byClass = this.config.classes[f.class];
    // `default` never covers `unknown`: what Vigil could not classify runs only where a policy names it.
    const byDefault = f.class === 'unknown' ? undefined : this.config.classes['default'];
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

  /** One decision for a command of several facts (statements sent together): the most restrictive wins. */
  decideAll(facts: readonly CommandFacts[], protocol: string): Decision {
    let worst: Decision | undefined;
    for (const s of facts) {
      const d = this.decide(s, protocol);
      if (!worst || SEVERITY[d.action] > SEVERITY[worst.action]) worst = d;
    }
    return worst ?? { action: 'allow', rule: `${this.config.name}/empty` };
  }
}

function ruleMatches(r: RuleConfig, f: CommandFacts, protocol: string): boolean {
  const w = r.when;
  if (w.protocols && !w.protocols.some((p) => globMatch(p, protocol))) return false;
  if (w.classes && !w.classes.includes(f.class)) return false;
  if (w.tags && !w.tags.some((t) => f.tags.includes(t))) return false;
  if (w.commands && !w.commands.some((c) => c.toUpperCase() === f.command.toUpperCase())) return false;
  if (w.objects && !objectsMatch(w.objects, w.objectsMatch ?? (r.action === 'allow' ? 'all' : 'any'), f.objects)) return false;
  if (w.attributes && !attributesMatch(w.attributes, f.attributes)) return false;
  return true;
}

/** A command that touches no object never matches a rule about objects. */
function objectsMatch(patterns: readonly string[], mode: 'all' | 'any', objects: readonly string[]): boolean {
  if (objects.length === 0) return false;
  const matches = (o: string) => patterns.some((p) => globMatch(p, o));
  return mode === 'all' ? objects.every(matches) : objects.some(matches);
}

/** Every key the rule lists must be present and match one of its globs. */
function attributesMatch(want: Readonly<Record<string, readonly string[]>>, have: Readonly<Record<string, string>>): boolean {
  return Object.entries(want).every(([k, patterns]) => {
    const v = Object.hasOwn(have, k) ? have[k] : undefined;
    return v !== undefined && patterns.some((p) => globMatch(p, v));
  });
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
