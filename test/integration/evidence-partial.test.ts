/**
 * The report never shows unknown as zero or as a pass: coverage per check, a distinct partial state, one
 * verdict, what the signed log proves about a session whose archive is missing, an interrupted session's
 * real end, and a fatal bundle that claims nothing. Real appliance, real demo bundle, real CLI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import { parseTrustFile, type TrustFile } from '../../shared/evidence/trust.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { writeDemoEvidence, type DemoEvidence } from '../../appliance/demo/evidence-demo.ts';
import { buildTrustFile } from '../../appliance/keys/trust-file.ts';
import { vigil } from '../helpers/cli.ts';
import { FAST_KDF, members, newAppliance, rewriteBundle, tempDir, verifyBytes } from '../helpers/evidence.ts';
import { exportTo, recordSessions } from '../helpers/viewer-evidence.ts';

let demo: DemoEvidence;
let bundle: Uint8Array;
let trust: TrustFile;
let auditor: AuditorSecret;
let approvalArchive: string;

beforeAll(async () => {
  demo = await writeDemoEvidence(join(tempDir(), 'demo'), { kdf: FAST_KDF });
  bundle = new Uint8Array(readFileSync(demo.bundle));
  trust = parseTrustFile(readFileSync(demo.trust, 'utf8'));
  auditor = parseAuditorSecretKey(readFileSync(demo.auditorKey, 'utf8')).unlock();
  approvalArchive = (await members(bundle)).map((m) => m.name).find((n) => n.startsWith('archives/00000003-'))!;
}, 120_000);

describe('coverage and verdict', () => {
  it('a clean bundle with the key: every check covers all of its evidence; verdict pass', async () => {
    const r = await verifyBytes(bundle, trust, auditor);
    expect(r.verdict.status).toBe('pass');
    expect(r.ok).toBe(true);
    for (const c of r.checks) {
      expect(c.status, c.id).toBe('pass');
      expect(c.covered, c.id).toBe(c.total);
      expect(c.total, c.id).not.toBeNull();
    }
    expect(r.checks.find((c) => c.id === 'digests')).toMatchObject({ covered: 5, total: 5, unit: 'archive' });
    expect(r.checks.find((c) => c.id === 'signatures')).toMatchObject({ covered: 7, total: 7 });
  });

  it('without the key: integrity verified — content not checked, never "complete"', async () => {
    const r = await verifyBytes(bundle, trust);
    expect(r.verdict.status).toBe('integrity-only');
    expect(r.verdict.headline).toMatch(/^Integrity verified — content not checked/);
    expect(r.verdict.headline).not.toMatch(/complete/i);
    expect(r.checks.filter((c) => c.status === 'skipped').map((c) => c.id)).toEqual(['decryption', 'tag-final', 'pan-rescan', 'approvals']);
  });

  it('an archive removed: 4 of 5 archives and 6 of 7 signatures are partial, not pass; the approvals check is partial', async () => {
    const r = await verifyBytes(await rewriteBundle(bundle, { [approvalArchive]: null }), trust, auditor);
    const by = (id: string) => r.checks.find((c) => c.id === id)!;
    expect(by('digests')).toMatchObject({ status: 'partial', covered: 4, total: 5 });
    expect(by('signatures')).toMatchObject({ status: 'partial', covered: 6, total: 7 });
    expect(by('decryption')).toMatchObject({ status: 'partial', covered: 4, total: 5 });
    expect(by('pan-rescan')).toMatchObject({ status: 'partial', covered: 4, total: 5 });
    expect(by('approvals')).toMatchObject({ status: 'partial', covered: 4, total: 5 });
    expect(by('session-sequence').status).toBe('fail');
    expect(r.verdict.status).toBe('fail');
    expect(r.ok).toBe(false);
  });

  it('a bundle older than the pinned checkpoint: consistency not checkable is partial; ok is false; the CLI exits 3', async () => {
    const A = newAppliance();
    let app = await Appliance.open(A.configPath);
    await recordSessions(app, [{ subject: 'one', commands: 1 }]);
    await app.close();
    const old = await exportTo(A.configPath, join(A.dir, 'old.vigil'));
    app = await Appliance.open(A.configPath);
    await recordSessions(app, [{ subject: 'two', commands: 1 }]);
    const pin = app.log.checkpoint();
    app.log.markExported(pin.checkpoint.size);
    const later = buildTrustFile(app.id, app.keys.records(), pin.envelope);
    await app.close();
    const r = await verifyBytes(old, later, A.auditor);
    expect(r.checks.find((c) => c.id === 'log-consistency')).toMatchObject({ status: 'partial', covered: 0, total: 1 });
    expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.verdict.status).toBe('partial');
    expect(r.ok).toBe(false);
    const trustPath = join(A.dir, 'later-trust.json');
    writeFileSync(trustPath, JSON.stringify(later));
    const cli = vigil(['verify', join(A.dir, 'old.vigil'), '--trust', trustPath]);
    expect(cli.code).toBe(3);
    expect(cli.stdout).toMatch(/\[PART\] Log consistency .*\[0 of 1 checkpoint\]/);
    expect(cli.stdout).toMatch(/^PARTIAL: /m);
    expect(cli.stderr).toMatch(/PARTIAL — nothing failed, but some evidence could not be checked/);
    const json = JSON.parse(vigil(['verify', join(A.dir, 'old.vigil'), '--trust', trustPath, '--json']).stdout);
    expect(json.verdict.status).toBe('partial');
    expect(json.checks.find((c: { id: string }) => c.id === 'log-consistency')).toMatchObject({ covered: 0, total: 1, unit: 'checkpoint' });
  });
});

describe('a session whose archive is missing: what the signed log proves', () => {
  it('identity, target, protocol, start, frame count and the approval with its decision, marked as from the log', async () => {
    const r = await verifyBytes(await rewriteBundle(bundle, { [approvalArchive]: null }), trust, auditor);
    const s = r.sessions.find((x) => x.seq === 3)!;
    expect(s).toMatchObject({ status: 'failed', source: 'log', contentAvailable: false, protocol: 'postgres', approvalsLogged: 1 });
    expect(s.context?.identity?.subject).toBeTruthy();
    expect(s.context?.target?.name).toBe('payments-db');
    expect(s.startedAt).toMatch(/Z$/);
    expect(s.frames).toBeGreaterThan(0);
    const logged = r.approvals!.filter((a) => a.sessionId === s.sessionId);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ source: 'log', outcome: 'approved', ran: null, statement: null, hashMatches: true, approvedBy: ['alice@acme.example'] });
    expect(logged[0]!.decisions[0]).toMatchObject({ approver: 'alice@acme.example', decision: 'approved' });
    // The others still come from their decrypted archives.
    expect(r.sessions.filter((x) => x.seq !== 3).every((x) => x.source === 'archive' && x.contentAvailable)).toBe(true);
  });

  it('an unreadable archive (garbage bytes) is treated the same: log facts, its approval from the log', async () => {
    const garbage = new Uint8Array(4096).fill(0x41);
    const r = await verifyBytes(await rewriteBundle(bundle, { [approvalArchive]: garbage }), trust, auditor);
    const s = r.sessions.find((x) => x.seq === 3)!;
    expect(s).toMatchObject({ status: 'failed', source: 'log', contentAvailable: false });
    expect(s.context?.target?.name).toBe('payments-db');
    expect(r.approvals!.filter((a) => a.sessionId === s.sessionId && a.source === 'log')).toHaveLength(1);
    expect(r.checks.find((c) => c.id === 'approvals')).toMatchObject({ covered: 4, total: 5 });
  });

  it('the CLI says so, with the log facts', () => {
    const dir = tempDir();
    const cut = join(dir, 'cut.vigil');
    return rewriteBundle(bundle, { [approvalArchive]: null }).then((b) => {
      writeFileSync(cut, b);
      const out = vigil(['verify', cut, '--trust', demo.trust, '--key', demo.auditorKey]);
      expect(out.code).toBe(1);
      expect(out.stdout).toMatch(/#3 .*FAILED[\s\S]*from the signed log; content unavailable \(.*1 approval request logged\)/);
      expect(out.stdout).toMatch(/\[PART\] Digests .*\[4 of 5 archives\]/);
      expect(out.stdout).toMatch(/APPROVED, ran: unknown — approved by alice@acme\.example.*\(from the signed log; content unavailable\)/);
    });
  });
});

describe('an interrupted session ends at its last durable event', () => {
  it('with the key: the last decrypted event, not the seal time', async () => {
    const r = await verifyBytes(bundle, trust, auditor);
    const s = r.sessions.find((x) => x.status === 'interrupted')!;
    expect(s.endedAtSource).toBe('last-event');
    expect(s.sealedAt).toBeDefined();
    const ran = Date.parse(s.endedAt!) - Date.parse(s.startedAt!);
    expect(ran).toBeGreaterThanOrEqual(0);
    expect(ran).toBeLessThan(1000); // the demo session ran 25 ms; it was sealed 30 s later
    expect(Date.parse(s.sealedAt!) - Date.parse(s.endedAt!)).toBeGreaterThan(20_000);
  });

  it('without the key: the last log anchor', async () => {
    const r = await verifyBytes(bundle, trust);
    const s = r.sessions.find((x) => x.status === 'interrupted')!;
    expect(s.endedAtSource).toBe('last-anchor');
    expect(Date.parse(s.sealedAt!) - Date.parse(s.endedAt!)).toBeGreaterThan(20_000);
  });
});

describe('a bundle that cannot be read', () => {
  it('is fatal: every check fail or not run, no session, no approval, no claim of content', async () => {
    const truncated = bundle.slice(0, 3000);
    const r = await verifyBytes(truncated, trust, auditor);
    expect(r.fatal).toBeDefined();
    expect(r.checks.every((c) => c.status === 'fail' || c.status === 'not-run')).toBe(true);
    expect(r.checks.every((c) => c.covered === null)).toBe(true);
    expect(r.sessions).toEqual([]);
    expect(r.approvals).toBeUndefined();
    expect(r.verdict).toMatchObject({ status: 'fail' });
    expect(r.verdict.headline).toMatch(/^FAILED: the bundle cannot be read/);
    const dir = tempDir();
    writeFileSync(join(dir, 't.vigil'), truncated);
    const out = vigil(['verify', join(dir, 't.vigil'), '--trust', demo.trust, '--key', demo.auditorKey]);
    expect(out.code).toBe(1);
    expect(out.stdout).not.toMatch(/decrypted|re-scanned|\[pass\]|\[skip\]/);
    expect(out.stdout).toMatch(/\[not run\] Decryption/);
  });
});
