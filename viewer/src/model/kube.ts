/**
 * A Kubernetes session as an auditor reads it: one row per HTTP exchange (verb, resource, namespace/name,
 * status, decision, time) with the masked request and response bodies exactly as recorded. Built on the
 * generic statement list (decision, approval, errors, masking counts per command) plus the request facts
 * and bodies only the Kubernetes adapter records. A body the evidence does not hold is said so, never empty.
 */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { num, str } from './digest.ts';
import { statements, type Statement } from './replay.ts';

export function isKube(events: readonly EvidenceEvent[]): boolean {
  return events.some((e) => e.type === 'session.open' && e.protocol === 'kubernetes');
}

/** Who Vigil asked the API server to act as (the `impersonation` notice); null when not recorded. */
export function impersonation(events: readonly EvidenceEvent[]): { user: string; groups: string[] } | null {
  const n = events.find((e) => e.type === 'notice' && e.kind === 'impersonation');
  if (!n) return null;
  return { user: str(n.user, 300) ?? '?', groups: Array.isArray(n.groups) ? n.groups.slice(0, 64).map((g) => str(g, 200) ?? '?') : [] };
}

/** A recorded body: the masked text (possibly cut), or why there is none. */
export interface KubeBody {
  /** Bytes on the wire; null when not recorded. */
  bytes: number | null;
  text: string | null;
  truncated: boolean;
  /** Why the text is not in the evidence (e.g. "secret values"). */
  omitted: string | null;
}

export interface WatchEvent {
  t: number;
  event: string;
  object: string;
  body: string;
}

export interface KubeExchange {
  statement: Statement;
  id: number | null;
  t: number;
  method: string;
  path: string;
  query: string;
  verb: string;
  /** group/version/resource[/subresource], or the path for a non-resource URL. */
  resource: string;
  namespace: string;
  name: string;
  userAgent: string;
  request: KubeBody | null;
  /** HTTP status the client received; null when no result was recorded (blocked, failed, cut off). */
  status: number | null;
  contentType: string;
  response: KubeBody | null;
  durationMs: number | null;
  secretsRedacted: boolean;
  watch: { events: WatchEvent[]; end: string } | null;
  /** Streamed output (a pod's log) as recorded, masked, concatenated; null when none. */
  stream: { bytes: number; text: string; end: string } | null;
}

const MAX_WATCH_EVENTS = 2000;
const MAX_STREAM_TEXT = 1_000_000;

export function kubeExchanges(events: readonly EvidenceEvent[]): KubeExchange[] {
  const byId = new Map<number, KubeExchange>();
  const stmts = statements(events);
  const out: KubeExchange[] = [];
  // One decoder per stream: a character split across two recorded chunks is decoded whole.
  const decoders = new Map<KubeExchange, { decode(b: Uint8Array, o: { stream: boolean }): string }>();
  let next = 0;
  for (const e of events) {
    if (e.type === 'command') {
      const s = stmts[next++];
      if (!s) continue;
      const x = exchangeOf(e, s);
      out.push(x);
      if (x.id !== null) byId.set(x.id, x);
      continue;
    }
    const x = byId.get(num(e.command) ?? -1);
    if (!x) continue;
    if (e.type === 'result') {
      x.status = num(e.status) ?? null;
      x.contentType = str(e.contentType, 200) ?? x.contentType;
      x.durationMs = num(e.durationMs) ?? null;
      x.secretsRedacted = e.secretsRedacted === true;
      if (e.watch === true) x.watch = { events: x.watch?.events ?? [], end: str(e.end, 200) ?? '' };
      if (e.stream === 'log') x.stream = { bytes: num(e.bytes) ?? x.stream?.bytes ?? 0, text: x.stream?.text ?? '', end: str(e.end, 200) ?? '' };
      else if (e.watch !== true) x.response = bodyOf(e.bytes, e.body, e.bodyTruncated, e.bodyOmitted);
    } else if (e.type === 'notice' && e.kind === 'watch-event') {
      x.watch ??= { events: [], end: '' };
      if (x.watch.events.length < MAX_WATCH_EVENTS) x.watch.events.push({ t: num(e.t) ?? 0, event: str(e.event, 32) ?? '?', object: str(e.object, 300) ?? '', body: str(e.body, 200_000) ?? '' });
    } else if (e.type === 'output' && e.stream === 'log' && e.data instanceof Uint8Array) {
      x.stream ??= { bytes: 0, text: '', end: '' };
      if (x.stream.text.length < MAX_STREAM_TEXT) x.stream.text += (decoders.get(x) ?? decoders.set(x, new TextDecoder()).get(x)!).decode(e.data, { stream: true }).slice(0, MAX_STREAM_TEXT - x.stream.text.length);
    }
  }
  return out;
}

function exchangeOf(e: EvidenceEvent, s: Statement): KubeExchange {
  const r = (e.request && typeof e.request === 'object' ? e.request : {}) as Record<string, unknown>;
  const headers = (e.headers && typeof e.headers === 'object' ? e.headers : {}) as Record<string, unknown>;
  const path = str(e.path, 2000) ?? '';
  const gv = [str(r.group, 200), str(r.version, 64)].filter((x) => x).join('/');
  const resource = r.nonResource === true ? path : [gv, str(r.resource, 200), str(r.subresource, 200)].filter((x) => x).join('/');
  return {
    statement: s,
    id: s.id,
    t: s.t,
    method: str(e.method, 16) ?? '',
    path,
    query: str(e.query, 2000) ?? '',
    verb: str(r.verb, 32) ?? '',
    resource,
    namespace: str(r.namespace, 300) ?? '',
    name: str(r.name, 300) ?? '',
    userAgent: str(headers['user-agent'], 300) ?? '',
    request: e.bodyBytes === undefined ? null : bodyOf(e.bodyBytes, e.body, e.bodyTruncated, e.bodyOmitted),
    status: null,
    contentType: '',
    response: null,
    durationMs: null,
    secretsRedacted: false,
    watch: null,
    stream: null,
  };
}

function bodyOf(bytes: unknown, body: unknown, truncated: unknown, omitted: unknown): KubeBody {
  return { bytes: num(bytes) ?? null, text: typeof body === 'string' ? body : null, truncated: truncated === true, omitted: str(omitted, 200) ?? null };
}

/** JSON pretty-printed for reading; anything else (or JSON cut short by the recording cap) as recorded. */
export function readableBody(text: string): string {
  const t = text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return text;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return text;
  }
}

/** "namespace/name", "namespace/*", "name", or "—" (a Namespace is its own namespace: just its name). */
export function objectOf(x: Pick<KubeExchange, 'namespace' | 'name' | 'resource'>): string {
  if (x.namespace && !(x.name === x.namespace && /(^|\/)namespaces(\/|$)/.test(x.resource))) return `${x.namespace}/${x.name || '*'}`;
  return x.name || '—';
}
