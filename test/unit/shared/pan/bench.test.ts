import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findCardData } from '../../../../shared/pan/index.ts';
import { benchPanScan, buildBenchText } from '../../../../scripts/bench/pan-scan.ts';

describe('pan-scan benchmark', () => {
  it('builds text whose only card data is the PANs it inserted', () => {
    const dirty = buildBenchText(2, true);
    const clean = buildBenchText(2, false);
    expect(clean.pans).toBe(0);
    expect(findCardData(clean.text)).toEqual([]);
    expect(dirty.pans).toBeGreaterThan(10);
    const found = findCardData(dirty.text).map((m) => dirty.text.slice(m.start, m.end));
    expect(found).toHaveLength(dirty.pans);
    for (const f of found) expect(dirty.text).toContain(`card=${f} ok`);
  });

  it('reports positive figures, the ratio of the two, and every inserted PAN found', () => {
    const r = benchPanScan({ mib: 1 });
    expect(r.matches_found).toBe(r.pans_inserted);
    expect(r.pan_scan_mib_s).toBeGreaterThan(0);
    expect(r.indexof_mib_s).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(r.pan_scan_mib_s / r.indexof_mib_s, 1);
    expect(r.strict_mib_s).toBeGreaterThan(0);
    expect(r.strict_matches).toBeGreaterThanOrEqual(r.pans_inserted);
    expect(r.fp_rate_strict).toBeGreaterThan(r.fp_rate_normal);
    expect(Object.keys(r.fp_strict)).toEqual(Object.keys(r.fp_normal));
    expect(r.detect_strict).toBe(1);
  });

  it('prints a JSON line last when run directly', () => {
    const out = execFileSync(process.execPath, ['bin/run-ts.mjs', 'scripts/bench/pan-scan.ts', '1'], { encoding: 'utf8' });
    const lines = out.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/^pan scan \d+ MiB\/s/);
    expect(lines[1]).toMatch(/^strict scan \d+ MiB\/s/);
    const json = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining(['pan_scan_mib_s', 'indexof_mib_s', 'ratio', 'strict_mib_s', 'fp_rate_normal', 'fp_rate_strict', 'fp_strict']),
    );
  });
});
