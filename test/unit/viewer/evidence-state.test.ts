/**
 * The viewer's models never show unknown as zero or as a pass, over real verifier reports of the demo
 * bundle: with an archive removed (log-proven facts, unknown counts, log approvals in the register), a
 * partial check, and a bundle that cannot be read (no positive claim anywhere, FAILED on every page).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAuditorSecretKey } from '../../../shared/evidence/auditor-key.ts';
import { parseTrustFile, type TrustFile } from '../../../shared/evidence/trust.ts';
import type { AuditorSecret } from '../../../shared/evidence/verify/verify-archive.ts';
import { writeDemoEvidence } from '../../../appliance/demo/evidence-demo.ts';
import { chronologicalCsv } from '../../../viewer/src/model/csv.ts';
import { NO_FINGERPRINT_CHECK, stampOf } from '../../../viewer/src/model/evidence-id.ts';
import { FROM_LOG, PILL, bannerTitle, checkLine } from '../../../viewer/src/model/evidence-state.ts';
import { pciRows } from '../../../viewer/src/model/pci.ts';
import { renderPdf } from '../../../viewer/src/model/report-pdf.ts';
import { approvalsOf, buildReport, renderHtml, reportStamp } from '../../../viewer/src/model/report.ts';
import { sessionRows } from '../../../viewer/src/model/sessions.ts';
import type { SessionDigest, VerificationReport } from '../../../viewer/src/model/types.ts';
import { FAST_KDF, members, rewriteBundle, tempDir, verifyBytes } from '../../helpers/evidence.ts';
import { pdfText } from '../../helpers/viewer-pdf.ts';

let missing: VerificationReport;
let missingNoKey: VerificationReport;
let fatal: VerificationReport;
let keyless: VerificationReport;
let full: VerificationReport;
let seq3: string;
const noDigests = new Map<string, SessionDigest>();

beforeAll(async () => {
  const demo = await writeDemoEvidence(join(tempDir(), 'demo'), { kdf: FAST_KDF });
  const bundle = new Uint8Array(readFileSync(demo.bundle));
  const trust: TrustFile = parseTrustFile(readFileSync(demo.trust, 'utf8'));
  const auditor: AuditorSecret = parseAuditorSecretKey(readFileSync(demo.auditorKey, 'utf8')).unlock();
  const name = (await members(bundle)).map((m) => m.name).find((n) => n.startsWith('archives/00000003-'))!;
  const cut = await rewriteBundle(bundle, { [name]: null });
  missing = await verifyBytes(cut, trust, auditor);
  missingNoKey = await verifyBytes(cut, trust);
  fatal = await verifyBytes(bundle.slice(0, 2500), trust, auditor);
  keyless = await verifyBytes(bundle, trust);
  full = await verifyBytes(bundle, trust, auditor);
  seq3 = missing.sessions.find((s) => s.seq === 3)!.sessionId;
}, 120_000);

describe('a session whose archive is missing', () => {
  it('session list: log facts, counts unknown (not 0), approvals from the log', () => {
    const row = sessionRows(missing.sessions, noDigests).find((r) => r.report.seq === 3)!;
    expect(row.identity).not.toBe('');
    expect(row.target).toBe('payments-db');
    expect(row.commands).toBeNull();
    expect(row.blocks).toBeNull();
    expect(row.masked).toBeNull();
    expect(row.approvals).toBe(1);
  });

  it('CSV: the session is labelled from the signed log and its masked count is unknown', () => {
    const line = chronologicalCsv(missing.sessions, noDigests).split('\r\n').find((l) => l.includes(seq3))!;
    expect(line).toContain(`(${FROM_LOG})`);
    expect(line).toMatch(/,unknown,failed,{7}$/); // without the log's approvals, no approval columns
    // With them (as the viewer passes them): the request the signed log proves, its times, and unknowns —
    // blank approval columns would read as "no approval was needed".
    const withLog = chronologicalCsv(missing.sessions, noDigests, undefined, { approvals: missing.approvals ?? [] }).split('\r\n').find((l) => l.includes(seq3))!;
    expect(withLog).toMatch(/,unknown,failed,apr_7Q2M9Xdemo01,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,[^,]*alice@acme\.example[^,]*,unknown[^,]*,unknown[^,]*,/);
  });

  it('approvals register keeps the log-proven request with its state; the PCI 8.6.1 row counts it', () => {
    const rows = approvalsOf(noDigests, missing);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ sessionId: seq3, outcome: 'approved', fromLog: true });
    expect(rows[0]!.approvers[0]!.subject).toBe('alice@acme.example');
    const r861 = pciRows(missing, noDigests, { by: 'Dana', at: 'now' }).find((p) => p.req === '8.6.1')!.evidence;
    expect(r861).toMatch(/^1 approval request \(/);
    expect(r861).not.toMatch(/every session recorded/);
    expect(r861).toMatch(/approvals check: PARTIAL \(4 of 5 archives\)/);
    // Whether what ran matched the approval is unknown for the log-only request: not "0 matched".
    expect(r861).not.toMatch(/\b0 executed commands matched the approved command hash;/);
    expect(r861).toMatch(/0 known executed commands matched the approved command hash \(unknown for 1 request whose content is unavailable\)/);
    const r341 = pciRows(missing, noDigests, { by: 'Dana', at: 'now' }).find((p) => p.req === '3.4.1')!.evidence;
    expect(r341).toMatch(/\(\d+ known card numbers?\)/);
        const r7261 = pciRows(missing, noDigests, { by: 'Dana', at: 'now' }).find((p) => p.req === '7.2.6')!.evidence;
    // #3 (no archive) and #5 (interrupted: its manifest has no counts, and no digest is given here).
    expect(r7261).toMatch(/unknown for 2 sessions whose content is unavailable/);
    // Without the key too: the register is not empty, the log proves the request.
    expect(approvalsOf(noDigests, missingNoKey).filter((a) => a.sessionId === seq3)).toHaveLength(1);
  });

  it('checks: partial ones are worded with their coverage', () => {
    const digests = missing.checks.find((c) => c.id === 'digests')!;
    expect(digests.status).toBe('partial');
    expect(checkLine(digests, false)).toMatch(/^4 of 5 archives · /);
    expect(bannerTitle(missing)).toMatch(/FAILED/);
    expect(PILL[missingNoKey.verdict.status]).not.toMatch(/✓/);
  });
});

describe('a bundle that cannot be read', () => {
  it('the report claims nothing and every page says FAILED', async () => {
    expect(fatal.fatal).toBeDefined();
    const blocks = buildReport({ report: fatal, digests: noDigests, fileName: 'cut.vigil', auditor: 'Dana', generatedAt: '2026-12-02T10:00:00.000Z', viewerVersion: 't' });
    const stamp = reportStamp(fatal);
    expect(stamp).toMatch(/^VERIFICATION FAILED/);
    const html = renderHtml(blocks, stamp);
    for (const claim of [/all \d+ session archives encrypted/, /every session recorded/, /Content .*decrypted/, /re-scanned for clear card data/, /PASS/]) expect(html).not.toMatch(claim);
    expect(html).toMatch(/NOT VERIFIED: the bundle could not be read/);
    // No empty sessions table (it reads as "no sessions"): the section says it is not known.
    const sessions = blocks.slice(blocks.findIndex((b) => b.kind === 'h' && b.text === 'Sessions') + 1);
    expect(sessions[0]).toMatchObject({ kind: 'p', text: 'Not known: the bundle could not be read.' });
    expect(blocks.filter((b) => b.kind === 'table' && b.columns.includes('Session id'))).toEqual([]);
    expect(html.match(/data-stamp/g)).toHaveLength(2);
    const pdf = await renderPdf(blocks, { title: 't', author: 'Dana', footer: 'f', stamp });
    const file = join(tempDir(), 'fatal.pdf');
    writeFileSync(file, pdf);
    const pages = pdfText(file).split('\f').filter((p) => p.trim());
    expect(pages.length).toBeGreaterThan(0);
    for (const p of pages) expect(p).toMatch(/VERIFICATION FAILED/);
    expect(bannerTitle(fatal)).toBe('✗ The bundle cannot be read');
    // The CSV is not an empty sheet (which reads as "nothing happened"): its one row says the bundle could
    // not be read, and carries the SHA-256 and FAILED like every row of every CSV.
    const csv = chronologicalCsv(fatal.sessions, noDigests, stampOf('cut.vigil', 'ab'.repeat(32), fatal, NO_FINGERPRINT_CHECK), { fatal: fatal.fatal }).trimEnd().split('\r\n');
    expect(csv).toHaveLength(2);
    expect(csv[1]).toMatch(/NOT VERIFIED: the bundle could not be read \(not a valid Vigil bundle: .*\); nothing in it was read/);
    expect(csv[1]).toMatch(new RegExp(`,${'ab'.repeat(32)},FAILED$`));
  });
});

describe('the report of a bundle with a missing archive', () => {
  it('PDF and HTML: the log-proven session and request are labelled, their plurals agree ("(s)" nowhere)', async () => {
    const blocks = buildReport({ report: missing, digests: noDigests, fileName: 'missing.vigil', auditor: 'Dana', generatedAt: '2026-12-02T10:00:00.000Z', viewerVersion: 't' });
    const stamp = reportStamp(missing);
    const html = renderHtml(blocks, stamp).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    const pdf = await renderPdf(blocks, { title: 't', author: 'Dana', footer: 'f', stamp });
    const file = join(tempDir(), 'missing.pdf');
    writeFileSync(file, pdf);
    const text = pdfText(file).replace(/\s+/g, ' ');
    for (const [what, t] of [['html', html], ['pdf', text]] as const) {
      expect(t, what).toContain(FROM_LOG);
      expect(t, what).not.toMatch(/\(s\)/);
      expect(t, what).not.toMatch(/\b1 (frames|events|approval requests|requests|archives|sessions)\b/);
    }
  });
});

describe('the report of a bundle verified without the auditor key', () => {
  it('every PDF page, top and bottom, says integrity only; the HTML too; a full pass has no stamp', async () => {
    expect(keyless.verdict.status).toBe('integrity-only');
    expect(full.verdict.status).toBe('pass');
    expect(reportStamp(full)).toBe('');
    const stamp = reportStamp(keyless);
    expect(stamp).toMatch(/^INTEGRITY ONLY: .*not checked/);
    const blocks = buildReport({ report: keyless, digests: noDigests, fileName: 'demo.vigil', auditor: 'Dana', generatedAt: '2026-12-02T10:00:00.000Z', viewerVersion: 't' });
    const pdf = await renderPdf(blocks, { title: 't', author: 'Dana', footer: 'f', stamp });
    const file = join(tempDir(), 'keyless.pdf');
    writeFileSync(file, pdf);
    const text = pdfText(file).replace(/\s+/g, ' ');
    const pages = Number(/page 1 of (\d+)/.exec(text)?.[1]);
    expect(pages).toBeGreaterThan(0);
    expect(text.split('INTEGRITY ONLY: no auditor key').length - 1).toBe(2 * pages);
    expect(renderHtml(blocks, stamp)).toContain('data-stamp>INTEGRITY ONLY: no auditor key');
  });
});
