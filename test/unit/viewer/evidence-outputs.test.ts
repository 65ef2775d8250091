/**
 * Loading and tying outputs to the evidence, over a real demo bundle:
 * - each file is recognised by its content (bundle, trust file, secret key, public key, anything else),
 *   and a file in the wrong slot is refused in plain words saying what it is and where it goes;
 * - the engine's SHA-256 of the bundle is the file's SHA-256;
 * - the reports, the CSV and the asciicast header carry it with the verification result, and the report
 *   records "fingerprint compared" only when the auditor confirmed it (never over a mismatch).
 */
import { createHash } from 'node:crypto';
import { openAsBlob, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDemoEvidence, type DemoEvidence } from '../../../appliance/demo/evidence-demo.ts';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { asciicast } from '../../../viewer/src/model/asciicast.ts';
import { chronologicalCsv } from '../../../viewer/src/model/csv.ts';
import { comparedOf, comparison, readSha256, stampOf, type EvidenceStamp } from '../../../viewer/src/model/evidence-id.ts';
import { detectKind, refusal, type FileKind } from '../../../viewer/src/model/file-kind.ts';
import { buildReport, renderHtml, reportFooter, type ReportInput } from '../../../viewer/src/model/report.ts';
import type { SessionDigest, VerificationReport } from '../../../viewer/src/model/types.ts';
import { BundleEngine, blobSource } from '../../../viewer/src/worker/engine.ts';
import { FAST_KDF, tempDir } from '../../helpers/evidence.ts';

let demo: DemoEvidence;
let bundle: Uint8Array;
let report: VerificationReport;
let digests: Map<string, SessionDigest>;
let sha: string;

beforeAll(async () => {
  demo = await writeDemoEvidence(join(tempDir(), 'demo'), { kdf: FAST_KDF });
  bundle = new Uint8Array(readFileSync(demo.bundle));
  sha = createHash('sha256').update(bundle).digest('hex');
  const e = new BundleEngine(blobSource(await openAsBlob(demo.bundle)), readFileSync(demo.trust, 'utf8'));
  await e.unlock({ text: readFileSync(demo.auditorKey, 'utf8') });
  const r = await e.verify();
  report = r.report;
  digests = new Map(r.digests.map((d) => [d.sessionId, d]));
});

const kind = (bytes: Uint8Array | string): Promise<FileKind> => {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return detectKind({ size: b.length, head: async () => b.subarray(0, 512), text: async () => new TextDecoder().decode(b) });
};

describe('a file is recognised by its content', () => {
  it('bundle, trust file, secret key, public key; anything else is unknown', async () => {
    expect(await kind(bundle)).toBe('bundle');
    expect(await kind(bundle.subarray(0, 2500))).toBe('bundle'); // truncated: still a bundle, for the verifier to judge
    expect(await kind(readFileSync(demo.trust, 'utf8'))).toBe('trust');
    expect(await kind(`\uFEFF  ${readFileSync(demo.trust, 'utf8')}`)).toBe('trust');
    expect(await kind(readFileSync(demo.auditorKey, 'utf8'))).toBe('key');
    expect(await kind(readFileSync(demo.auditorKey.replace(/\.key$/, '.pub'), 'utf8'))).toBe('public-key');
    expect(await kind('{"format":"vigil-trust"')).toBe('unknown'); // not JSON
    expect(await kind('{"format":"something-else"}')).toBe('unknown');
    expect(await kind('meeting notes\n')).toBe('unknown');
    expect(await kind(new Uint8Array(0))).toBe('unknown');
  });

  it('a file in the wrong slot is refused with what it is and where it goes, in words', () => {
    expect(refusal('trust.json', 'trust', 'bundle')).toBe('trust.json is a trust file, not an evidence bundle: open it in step 1 (Trust file), or drop all three files anywhere in this window.');
    expect(refusal('evidence.vigil', 'bundle', 'trust')).toMatch(/^evidence\.vigil is an evidence bundle, not a trust file: open it in step 2 \(Evidence bundle\)/);
    expect(refusal('auditor.key', 'key', 'bundle')).toMatch(/^auditor\.key is an auditor secret key, not an evidence bundle: open it in step 3 \(Auditor key\)/);
    expect(refusal('auditor.pub', 'public-key', 'key')).toMatch(/public key \(\.pub\).*open your secret key \(\.key\) in step 3/);
    expect(refusal('notes.txt', 'unknown')).toBe('notes.txt is not a Vigil evidence bundle, trust file or auditor key, so it was not opened.');
    expect(refusal('notes.txt', 'unknown', 'trust')).toMatch(/^notes\.txt is not a trust file: .*trust\.json the appliance operator gave you/);
    for (const k of ['trust', 'bundle', 'key'] as const) expect(refusal('x', k, k)).toBeUndefined();
    expect(refusal('x', 'bundle')).toBeUndefined(); // a drop takes every kind
    expect(refusal('a\nb\u2028c'.padEnd(300, 'x'), 'unknown')!.split('\n')).toHaveLength(1); // a hostile name stays one bounded line
  });
});

describe('the SHA-256 of the bundle', () => {
  it('the engine hashes the whole file, as sha256sum would', async () => {
    const e = new BundleEngine(blobSource(await openAsBlob(demo.bundle)), readFileSync(demo.trust, 'utf8'));
    const seen: number[] = [];
    expect(await e.sha256((done) => seen.push(done))).toBe(sha);
    expect(seen.at(-1)).toBe(bundle.length);
  });

  it('what the auditor pastes is read as vigil export and sha256sum print it; a mismatch can never be confirmed', () => {
    expect(readSha256(`SHA-256 ${sha}  /tmp/evidence.vigil`)).toBe(sha);
    expect(readSha256(`${sha.toUpperCase()}  evidence.vigil`)).toBe(sha);
    expect(readSha256(sha.replace(/(.{4})/g, '$1 '))).toBe(sha);
    expect(readSha256('SHA-256 abc')).toBeNull();
    expect(comparison(sha, '')).toBe('none');
    expect(comparison(sha, sha)).toBe('match');
    expect(comparison(sha, '0'.repeat(64))).toBe('mismatch');
    expect(comparedOf(sha, { entered: '', confirmed: false })).toBe('no');
    expect(comparedOf(sha, { entered: '', confirmed: true })).toBe('yes');
    expect(comparedOf(sha, { entered: sha, confirmed: true })).toBe('yes');
    expect(comparedOf(sha, { entered: '0'.repeat(64), confirmed: true })).toBe('mismatch');
    expect(comparedOf(null, { entered: '', confirmed: true })).toBe('no'); // nothing to compare yet
  });
});

describe('every output names the evidence', () => {
  const input = (evidence?: EvidenceStamp): ReportInput => ({
    report,
    digests,
    fileName: 'evidence.vigil',
    auditor: 'Dana Auditor',
    generatedAt: '2026-11-29T19:05:00.123Z',
    viewerVersion: '0.1.0',
    ...(evidence ? { evidence } : {}),
  });
  const text = (i: ReportInput) => renderHtml(buildReport(i)).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

  it('the report lists the credentials the appliance issued, and says when the log did not prove them', () => {
    const cred = { entry: 9, at: '2026-12-03T09:00:00.123Z', kind: 'ssh-user-certificate', provider: 'github', issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/deploy:ref:refs/heads/main', tokenId: null, keyId: 'vigil:iss=x:sub=y:jti=z', serial: '7731', principals: ['deploy'], validAfter: null, validBefore: '2026-12-03T09:10:00.000Z', keyFingerprint: null, caFingerprint: null, address: null };
    const base = input(stampOf('evidence.vigil', sha, report, { entered: '', confirmed: false }));
    const withCred = text({ ...base, report: { ...report, credentials: [cred] } });
    expect(withCred).toMatch(/Credentials issued 1 credential the appliance issued outside sessions, from the signed log/);
    expect(withCred).toContain('Covered by the verified checkpoint.');
    expect(withCred).toContain('repo:acme/deploy:ref:refs/heads/main (https://token.actions.githubusercontent.com)');
    expect(withCred).toContain('SSH user certificate, serial 7731');
    expect(withCred).toContain('2026-12-03 09:10:00.000 UTC');
    const unproven = { ...report, credentials: [cred], checks: report.checks.map((c) => (c.id === 'log-inclusion' ? { ...c, status: 'fail' as const } : c)) };
    expect(text({ ...base, report: unproven })).toContain('The log did not verify: these entries are what the bundle claims, not proven.');
    expect(text(base)).not.toContain('Credentials issued');
  });

  it('the report: SHA-256, result, and the fingerprint step only when confirmed', () => {
    const unconfirmed = text(input(stampOf('evidence.vigil', sha, report, { entered: '', confirmed: false })));
    expect(unconfirmed).toContain(`(SHA-256 ${sha}) was opened and verified`);
    expect(unconfirmed).toMatch(/Verification result PASS/);
    expect(unconfirmed).toMatch(new RegExp(`Bundle SHA-256 ${sha}`));
    expect(unconfirmed).toMatch(/Fingerprint compared by the auditor no \(not confirmed\)/);
    expect(unconfirmed).not.toMatch(/compared by the auditor yes/);
    const confirmed = text(input(stampOf('evidence.vigil', sha, report, { entered: sha, confirmed: true })));
    expect(confirmed).toMatch(/Fingerprint compared by the auditor yes/);
    const mismatch = text(input(stampOf('evidence.vigil', sha, report, { entered: 'f'.repeat(64), confirmed: true })));
    expect(mismatch).toMatch(/Fingerprint compared by the auditor NO: the SHA-256 the auditor entered does not match this bundle/);
    // Without the evidence (a caller that has none): said as not computed and not compared, never blank.
    const none = text(input());
    expect(none).toMatch(/Bundle SHA-256 not computed/);
    expect(none).toMatch(/Fingerprint compared by the auditor no \(not confirmed\)/);
  });

  it('the PDF footer (every page) names the SHA-256, the result and the fingerprint step', () => {
    const [first, second] = reportFooter(input(stampOf('evidence.vigil', sha, report, { entered: '', confirmed: false })));
    expect(first).toMatch(/^Vigil evidence report - evidence\.vigil - verified by Dana Auditor at 2026-11-29 19:05:00\.123 UTC$/);
    expect(second).toBe(`Bundle SHA-256 ${sha} - verification result PASS - fingerprint compared by the auditor: no (not confirmed)`);
    const withKeyless = stampOf('evidence.vigil', sha, { verdict: { ...report.verdict, status: 'integrity-only' } }, { entered: '', confirmed: true });
    expect(reportFooter(input(withKeyless))[1]).toMatch(/verification result INTEGRITY ONLY \(content not checked\) - fingerprint compared by the auditor: yes$/);
  });

  it('the CSV: the SHA-256 and the result close every line', () => {
    const csv = chronologicalCsv(report.sessions, digests, stampOf('evidence.vigil', sha, report, { entered: '', confirmed: false }));
    const lines = csv.trimEnd().split(/\r\n(?=\d{4}-|time,)/);
    expect(lines[0]!.endsWith(',bundle_sha256,verification')).toBe(true);
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines.slice(1)) expect(l.endsWith(`,${sha},PASS`), l).toBe(true);
  });

  it('the asciicast header: session, bundle, SHA-256 and result, passed or bound by the app', () => {
    const events: EvidenceEvent[] = [{ seq: 0, t: 0, type: 'output', data: new TextEncoder().encode('$ ') }];
    const header = (cast: string) => JSON.parse(cast.split('\n')[0]!) as { vigil: Record<string, unknown> };
    const stamp = stampOf('evidence.vigil', sha, report, { entered: '', confirmed: false });
    expect(header(asciicast(events, { seq: 4, sessionId: 's-4', evidence: stamp })).vigil).toEqual({ session_id: 's-4', bundle_file: 'evidence.vigil', bundle_sha256: sha, verification: 'PASS' });
    expect(header(asciicast(events, { seq: 4, sessionId: 's-4' })).vigil).toEqual({ session_id: 's-4', bundle_file: null, bundle_sha256: null, verification: null });
  });
});
