/** The sessions table's rows and filters: manifests' stats filter without decrypting; search needs the key. */
import { countsKnown } from './evidence-state.ts';
import type { SessionDigest, SessionReport, SessionRow } from './types.ts';

export function sessionRows(sessions: readonly SessionReport[], digests: ReadonlyMap<string, SessionDigest>): SessionRow[] {
  return sessions.map((report, index) => {
    const d = digests.get(report.sessionId);
    const stats = report.stats ?? {};
    const started = report.startedAt ? Date.parse(report.startedAt) : NaN;
    const known = countsKnown(report, d);
    // The signed log counts approval requests even when the archive is gone.
    const logged = report.approvalsLogged ?? null;
    return {
      index,
      report,
      ...(d ? { digest: d } : {}),
      identity: report.context?.identity?.subject ?? '',
      target: report.context?.target?.name ?? '',
      protocol: report.protocol ?? report.context?.protocol ?? '',
      startedMs: Number.isFinite(started) ? started : 0,
      approvals: d ? d.approvals.length : known ? (stats['approval.requested'] ?? 0) : logged,
      blocks: d ? d.blocks : known ? (stats['decision.block'] ?? 0) + (stats['decision.denied'] ?? 0) : null,
      masked: d ? d.masked : known ? (stats.masked ?? 0) : null,
      commands: d ? d.commands.length : known ? (stats.command ?? 0) : null,
      haystack: d ? d.commands.map((c) => c.text.toLowerCase()).join('\n') : '',
    };
  });
}

export interface SessionFilter {
  identity: string;
  target: string;
  protocol: string;
  /** 'complete' | 'interrupted' | 'in-progress' | 'failed' | '' */
  outcome: string;
  /** ISO-ish local datetime strings or ''. */
  from: string;
  to: string;
  approvals: boolean;
  blocks: boolean;
  masking: boolean;
  search: string;
}

export const EMPTY_FILTER: SessionFilter = { identity: '', target: '', protocol: '', outcome: '', from: '', to: '', approvals: false, blocks: false, masking: false, search: '' };

export function isFiltering(f: SessionFilter): boolean {
  return Object.entries(f).some(([k, v]) => v !== EMPTY_FILTER[k as keyof SessionFilter]);
}

export function applyFilter(rows: readonly SessionRow[], f: SessionFilter): SessionRow[] {
  const identity = f.identity.trim().toLowerCase();
  const target = f.target.trim().toLowerCase();
  const search = f.search.trim().toLowerCase();
  const from = parseUtc(f.from);
  const to = parseUtc(f.to);
  return rows.filter(
    (r) =>
      (!identity || r.identity.toLowerCase().includes(identity)) &&
      (!target || r.target.toLowerCase().includes(target)) &&
      (!f.protocol || r.protocol === f.protocol) &&
      (!f.outcome || r.report.status === f.outcome) &&
      (!Number.isFinite(from) || r.startedMs >= from) &&
      (!Number.isFinite(to) || r.startedMs <= to) &&
      (!f.approvals || (r.approvals ?? 0) > 0) &&
      (!f.blocks || (r.blocks ?? 0) > 0) &&
      (!f.masking || (r.masked ?? 0) > 0) &&
      (!search || r.haystack.includes(search)),
  );
}

/** A datetime typed in the filter bar is UTC (as every time the viewer shows); '' → NaN. */
export function parseUtc(s: string): number {
  if (!s.trim()) return NaN;
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(s.trim()) ? s.trim() : s.trim().replace(' ', 'T') + 'Z');
}

export function distinct(rows: readonly SessionRow[], key: 'protocol' | 'target' | 'identity', max = 500): string[] {
  const s = new Set<string>();
  for (const r of rows) {
    if (r[key]) s.add(r[key]);
    if (s.size >= max) break;
  }
  return [...s].sort();
}

/** "1 h 02 min", "4.2 s": a duration an auditor reads at a glance. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** "2026-11-29 18:01:10 UTC": times in one zone, so every auditor reads the same. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso.slice(0, 40);
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
