/**
 * The clock as the evidence saw it: each heartbeat records the process's monotonic uptime beside the log's
 * wall-clock time, so between two heartbeats of one run the wall clock should advance as much as the
 * monotonic one. A difference means the clock was stepped (or the log clamped a clock that went back).
 * Also: the last log entry must not lie in the future of the clock now.
 */
import { needDb, isResult, type DoctorCheck, type DoctorResult } from '../check.ts';

const MAX_OFFSET_MS = 1000;
const LOOK_BACK = 500;
const SCAN_ENTRIES = 100_000;

export const heartbeatsCheck: DoctorCheck = {
  id: 'heartbeats',
  title: "the recorded heartbeats' clock offsets",
  async run(ctx) {
    const db = needDb(ctx, 'heartbeats');
    if (isResult(db)) return [db];
    const out: DoctorResult[] = [];
    const last = db.prepare('SELECT time FROM log_entries ORDER BY idx DESC LIMIT 1').pluck().get() as string | undefined;
    const now = ctx.now();
    if (last && Date.parse(last) > now.getTime() + 5000) {
      out.push({ check: 'heartbeats', status: 'fail', detail: `the log's last entry (${last}) is later than the clock now (${now.toISOString()}): the clock went back`, fix: 'fix the time source; the log keeps its times monotonic, but evidence times around the step are off' });
    }
    // Within the last entries only (the log has no index on type; years of entries would be a long scan).
    const size = ((db.prepare('SELECT MAX(idx) AS n FROM log_entries').get() as { n: number | null }).n ?? -1) + 1;
    const rows = db.prepare("SELECT data FROM log_entries WHERE idx >= ? AND type = 'heartbeat' ORDER BY idx DESC LIMIT ?").pluck().all(Math.max(0, size - SCAN_ENTRIES), LOOK_BACK) as string[];
    const beats = rows
      .map((d) => JSON.parse(d) as { t: string; pid?: number; uptimeMs?: number })
      .filter((b) => typeof b.pid === 'number' && typeof b.uptimeMs === 'number')
      .reverse();
    let pairs = 0;
    let worst = { ms: 0, at: '' };
    for (let i = 1; i < beats.length; i++) {
      const a = beats[i - 1]!;
      const b = beats[i]!;
      if (a.pid !== b.pid || b.uptimeMs! < a.uptimeMs!) continue; // another run
      pairs++;
      const off = Date.parse(b.t) - Date.parse(a.t) - (b.uptimeMs! - a.uptimeMs!);
      if (Math.abs(off) > Math.abs(worst.ms)) worst = { ms: off, at: b.t };
    }
    if (pairs === 0) {
      out.push({ check: 'heartbeats', status: 'unknown', detail: `no two heartbeats of one run recorded yet (${beats.length} with uptime): offsets not checked`, fix: 'let the gateway run for two heartbeat intervals (evidence.heartbeatIntervalSeconds)' });
    } else if (Math.abs(worst.ms) > MAX_OFFSET_MS) {
      out.push({ check: 'heartbeats', status: 'fail', detail: `the wall clock moved ${(worst.ms / 1000).toFixed(3)} s against the monotonic clock between heartbeats (at ${worst.at}; ${pairs} intervals checked)`, fix: 'the clock was stepped: check time sync (see the clock check); note the period in the audit record' });
    } else {
      out.push({ check: 'heartbeats', status: 'pass', detail: `${pairs} heartbeat intervals: wall and monotonic clocks agree within ${Math.abs(worst.ms)} ms` });
    }
    return out;
  },
};
