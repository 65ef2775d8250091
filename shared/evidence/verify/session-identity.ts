/**
 * Who connected to what, as the signed log says it (`session.identified`, or `session.started`'s
 * subject/target where an appliance wrote them there) against what the archive says.
 *
 * On the archive's side the recorded events are authoritative — `identity.verified` (subject, issuer,
 * method), the session-scope `decision` (target) and `session.open` (protocol): they were recorded as it
 * happened, inside the frame chain, and need the auditor key. The signed manifest's context is their summary,
 * readable without the key (only a complete archive's carries an identity: an interrupted one is sealed from
 * its header). Every field both sides name must agree; a field one side does not name is not compared.
 */
import type { ArchiveManifest } from '../archive-format.ts';
import type { EvidenceEvent } from '../events.ts';
import type { SessionLog } from './session-log.ts';

export const IDENTITY_FIELDS = ['subject', 'issuer', 'method', 'target', 'protocol'] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];
export type IdentityFacts = Partial<Record<IdentityField, string>>;

/** One place that speaks about a session's identity, named as messages name it. */
interface Source {
  where: string;
  facts: IdentityFacts;
}

/** What the decrypted events say: the first `identity.verified`, session decision naming a target, `session.open`. */
export class IdentityCollector {
  private readonly facts: IdentityFacts = {};
  private verified = false;

  add(events: readonly EvidenceEvent[]): void {
    for (const e of events) {
      if (e.type === 'identity.verified' && !this.verified) {
        this.verified = true;
        this.set('subject', e.subject);
        this.set('issuer', e.issuer);
        this.set('method', e.method);
      } else if (e.type === 'decision' && e.scope === 'session') {
        this.set('target', e.target);
      } else if (e.type === 'session.open') {
        this.set('protocol', e.protocol);
      }
    }
  }

  finish(): IdentityFacts {
    return { ...this.facts };
  }

  private set(field: IdentityField, v: unknown): void {
    if (typeof v === 'string' && this.facts[field] === undefined) this.facts[field] = v;
  }
}

export type IdentityOutcome =
  /** The log names the identity and every source of the archive agrees. */
  | 'agree'
  /** They disagree (or the log was emptied of it): problems say how. */
  | 'disagree'
  /** The archive proves an identity the log does not name (an appliance from before session.identified). */
  | 'not-logged'
  /** The log names one but nothing readable in the archive does (an interrupted archive, without the key). */
  | 'not-checkable'
  /** No proven identity on either side (a refused identity): nothing to compare. */
  | 'none';

export interface IdentityCheck {
  outcome: IdentityOutcome;
  problems: string[];
}

/** The archive's sources: the manifest context (with an identity), then the decrypted events (when read). */
export function archiveIdentitySources(manifest: ArchiveManifest | undefined, events: IdentityFacts | undefined): Source[] {
  const out: Source[] = [];
  const c = manifest?.context;
  if (c?.identity) {
    out.push({
      where: 'signed manifest',
      facts: strip({ subject: c.identity.subject, issuer: c.identity.issuer, method: c.identity.method, target: c.target?.name, protocol: c.protocol }),
    });
  }
  if (events) out.push({ where: 'recorded events', facts: events });
  return out;
}

/**
 * Compares the log with the archive. `identifiedBefore` is a session started earlier whose identity the log
 * names: once the appliance writes session.identified, a later session without one has had it removed.
 */
export function crossCheckIdentity(log: SessionLog, archive: readonly Source[], identifiedBefore?: { seq: number }): IdentityCheck {
  const problems: string[] = [];
  const logged = loggedSources(log);
  const ids = log.identified ?? [];
  if (ids.length > 1) problems.push(`the signed log identifies this session ${ids.length} times (entries ${ids.map((x) => x.entry).join(', ')})`);
  const proven = archive.some((s) => s.facts.subject !== undefined);
  if (logged.length === 0) {
    if (!proven) return { outcome: 'none', problems };
    if (identifiedBefore) {
      problems.push(`the signed log has no session.identified for this session, though it identifies session #${identifiedBefore.seq} started before it: the entry was removed`);
      return { outcome: 'disagree', problems };
    }
    return { outcome: problems.length ? 'disagree' : 'not-logged', problems };
  }
  for (const l of logged) {
    for (const field of IDENTITY_FIELDS) {
      const said = l.facts[field];
      if (said === undefined) continue;
      const other = archive.find((s) => s.facts[field] !== undefined && s.facts[field] !== said);
      if (other) problems.push(`the signed log's ${l.where} names ${field} "${said}", the archive's ${other.where} says "${other.facts[field]!}"`);
    }
  }
  if (problems.length) return { outcome: 'disagree', problems };
  return { outcome: proven ? 'agree' : 'not-checkable', problems };
}

/** Where the log speaks about identity: each session.identified, and session.started when it names someone. */
function loggedSources(log: SessionLog): Source[] {
  const out: Source[] = (log.identified ?? []).map((x) => ({
    where: `session.identified (entry ${x.entry})`,
    facts: strip({ subject: x.subject, target: x.target, issuer: x.issuer, method: x.method, protocol: x.protocol }),
  }));
  const s = log.started;
  if (s && (typeof s.subject === 'string' || typeof s.target === 'string')) {
    out.push({ where: `session.started (entry ${s.i})`, facts: strip({ subject: s.subject, target: s.target, protocol: s.protocol }) });
  }
  return out;
}

function strip(o: Partial<Record<IdentityField, unknown>>): IdentityFacts {
  const out: IdentityFacts = {};
  for (const k of IDENTITY_FIELDS) if (typeof o[k] === 'string') out[k] = o[k];
  return out;
}
