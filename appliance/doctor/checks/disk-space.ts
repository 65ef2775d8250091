/**
 * Free space on the data directory's file system against how fast evidence grows: archive bytes per day
 * over the last week of archive folders (archives/YYYY-MM-DD/), plus the journal's bounded reserve. When
 * the disk fills, every command is refused (record, then forward): the warning must come weeks ahead.
 */
import { readdirSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { needConfig, isResult, type DoctorCheck } from '../check.ts';

const MIN_FREE = 1024 ** 3;
const MIN_DAYS = 30;
const JOURNAL_RESERVE = 64 * 1024 ** 2;
const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) {
    try {
      const st = statSync(join(dir, f));
      if (st.isFile()) n += st.size;
    } catch {
      /* sealed and moved meanwhile */
    }
  }
  return n;
}

export const diskSpaceCheck: DoctorCheck = {
  id: 'disk-space',
  title: 'free disk space against the journal and archive growth rate',
  async run(ctx) {
    const loaded = needConfig(ctx, 'disk-space');
    if (isResult(loaded)) return [loaded];
    const dataDir = loaded.resolvePath(loaded.config.appliance.dataDir);
    const fs = statfsSync(dataDir);
    const free = fs.bavail * fs.bsize;
    const archives = join(dataDir, 'archives');
    let days: string[] = [];
    try {
      days = readdirSync(archives).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort().slice(-7);
    } catch {
      /* no archive yet */
    }
    const bytes = days.reduce((a, d) => a + dirBytes(join(archives, d)), 0);
    const span = days.length ? Math.max(1, (Date.parse(days.at(-1)!) - Date.parse(days[0]!)) / 86_400_000 + 1) : 0;
    const perDay = span ? bytes / span : 0;
    const usable = free - JOURNAL_RESERVE;
    const left = perDay > 0 ? usable / perDay : Infinity;
    const rate = perDay > 0 ? `${(perDay / 1024 ** 2).toFixed(1)} MiB/day over ${days.length} day(s) of archives` : 'no archive growth recorded yet';
    const detail = `${gib(free)} free on ${dataDir}; ${rate}${Number.isFinite(left) ? `: ≈ ${Math.floor(left)} days left` : ''}`;
    const fix = 'add space to the data volume, ship and prune archives (retention), or lower recorded volume (evidence.postgres.resultRows)';
    if (free < MIN_FREE) return [{ check: 'disk-space', status: 'fail', detail: `${detail} (less than ${gib(MIN_FREE)})`, fix }];
    if (left < MIN_DAYS) return [{ check: 'disk-space', status: 'fail', detail: `${detail} (less than ${MIN_DAYS} days)`, fix }];
    return [{ check: 'disk-space', status: 'pass', detail }];
  },
};
