/**
 * Every kind of tampering the verifier catches (test/integration/evidence-tamper.test.ts) is shown red in
 * the viewer, on the right check and the right session, with the verifier's own words.
 */
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../shared/bytes.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { buildTrustFile } from '../../appliance/keys/trust-file.ts';
import { archiveRecords, joinRecords, memberBytes, members, newAppliance, rewriteBundle, tempDir, type TestAppliance } from '../helpers/evidence.ts';
import { exportTo, recordSessions } from '../helpers/viewer-evidence.ts';
import { checkStatus, checkText, openEvidence, problems, screenshot, startViewer, type ViewerSession } from '../helpers/viewer.ts';

let viewer: ViewerSession;
let A: TestAppliance;
let bundle: Uint8Array;
let archiveName: string;
const work = tempDir('vigil-e2e-tamper-');

beforeAll(async () => {
  A = newAppliance();
  const app = await Appliance.open(A.configPath);
  await recordSessions(app, [
    { subject: 'bot-a', commands: 6 },
    { subject: 'bot-b', commands: 4 },
    { subject: 'bot-c', commands: 3 },
  ]);
  await app.close();
  [viewer, bundle] = await Promise.all([startViewer(), exportTo(A.configPath, join(A.dir, 'a.vigil'))]);
  archiveName = (await members(bundle)).map((m) => m.name).filter((n) => n.startsWith('archives/'))[0]!;
}, 180_000);

afterAll(async () => {
  await viewer?.close();
});

let n = 0;
function file(bytes: Uint8Array | string, name = `t${n++}.vigil`): string {
  const p = join(work, name);
  writeFileSync(p, bytes);
  return p;
}

async function open(b: Uint8Array, opts: { trust?: string; key?: string | null } = {}): Promise<Page> {
  const p = await viewer.page();
  await openEvidence(p, { trust: opts.trust ?? A.trustPath, bundle: file(b), ...(opts.key === null ? {} : { key: opts.key ?? join(A.dir, 'auditor.key') }) });
  expect(await p.getByTestId('banner').innerText()).toMatch(/Verification FAILED: do not rely on this evidence|The bundle cannot be read/);
  expect(await p.getByTestId('verdict').innerText()).toMatch(/Verification failed/);
  return p;
}

async function expectRed(p: Page, check: string, reason: RegExp): Promise<void> {
  expect(await checkStatus(p, check), check).toBe('fail');
  expect(await checkText(p, check)).toMatch(reason);
}

async function sessionRow(p: Page, seq: number): Promise<string> {
  return p.locator(`[data-testid=session-statuses] tbody tr[data-seq="${seq}"]`).innerText();
}

describe('tampering shown red with its reason', () => {
  it('a flipped bit in a frame: chain and decryption fail at that frame; the session is FAILED', async () => {
    const { magic, records } = archiveRecords(await memberBytes(bundle, archiveName));
    const recs = records.map((r) => ({ ...r, bytes: r.bytes.slice() }));
    recs[3]!.bytes[40]! ^= 0x01;
    const p = await open(await rewriteBundle(bundle, { [archiveName]: joinRecords(magic, recs) }));
    await expectRed(p, 'digests', /session #1 \(.{8}\): frame chain differs from the signed manifest: a frame was altered, reordered, replaced or duplicated/);
    await expectRed(p, 'decryption', /frame 2: decryption failed \(frame altered, reordered, dropped before it, or spliced from another archive\)/);
    expect(await checkStatus(p, 'signatures')).toBe('pass');
    const row = await sessionRow(p, 1);
    expect(row).toMatch(/FAILED/);
    expect(row).toMatch(/frame chain differs/);
    expect(await sessionRow(p, 2)).toMatch(/complete/);
    await screenshot(p, '10-tampered-frame', { fullPage: true });
    expect(problems(p)).toEqual([]);
  });

  it('a truncated archive: the missing trailer is named', async () => {
    const { magic, records } = archiveRecords(await memberBytes(bundle, archiveName));
    const p = await open(await rewriteBundle(bundle, { [archiveName]: joinRecords(magic, records.slice(0, 3)) }));
    await expectRed(p, 'digests', /archive ends after frame 2 without a signed trailer \(truncated, or still being written\)/);
  });

  it('a dropped frame: the count and the gap', async () => {
    const { magic, records } = archiveRecords(await memberBytes(bundle, archiveName));
    const p = await open(await rewriteBundle(bundle, { [archiveName]: joinRecords(magic, [...records.slice(0, 2), ...records.slice(3)]) }));
    await expectRed(p, 'digests', /the signed manifest counts 7 frames, the archive holds 6: frames were removed/);
    await expectRed(p, 'decryption', /frame 1: decryption failed/);
  });

  it('a deleted archive: the session is missing', async () => {
    const p = await open(await rewriteBundle(bundle, { [archiveName]: null }), { key: null });
    await expectRed(p, 'session-sequence', /archive archives\/\S+ is listed in the signed bundle manifest but missing from the bundle/);
    expect(await sessionRow(p, 1)).toMatch(/FAILED[\s\S]*missing from the bundle/);
  });

  it('an altered log entry: the checkpoint root does not match', async () => {
    const entries = new TextDecoder().decode(await memberBytes(bundle, 'log/entries.jsonl'));
    const altered = entries.replace('"subject":"bot-b"', '"subject":"bot-x"');
    expect(altered).not.toBe(entries);
    const p = await open(await rewriteBundle(bundle, { 'log/entries.jsonl': utf8(altered) }), { key: null });
    await expectRed(p, 'log-inclusion', /the log entries do not hash to the signed checkpoint root: an entry was altered, removed, reordered or added/);
  });

  it('a rolled-back log: the pinned checkpoint is newer and bigger', async () => {
    const C = newAppliance();
    const dataDir = join(C.dir, 'appliance', 'data');
    let app = await Appliance.open(C.configPath);
    await recordSessions(app, [{ subject: 'one', commands: 1 }]);
    await app.close();
    const backup = tempDir();
    for (const f of readdirSync(dataDir)) if (f.startsWith('vigil.db')) copyFileSync(join(dataDir, f), join(backup, f));
    app = await Appliance.open(C.configPath);
    await recordSessions(app, [{ subject: 'two', commands: 1 }, { subject: 'three', commands: 1 }]);
    const pin = app.log.checkpoint();
    app.log.markExported(pin.checkpoint.size);
    const trust = buildTrustFile(app.id, app.keys.records(), pin.envelope);
    await app.close();
    for (const f of readdirSync(dataDir)) if (f.startsWith('vigil.db')) writeFileSync(join(dataDir, f), '');
    for (const f of readdirSync(backup)) copyFileSync(join(backup, f), join(dataDir, f));
    const rolledBack = await exportTo(C.configPath, join(C.dir, 'r.vigil'));
    const p = await viewer.page();
    await openEvidence(p, { trust: file(JSON.stringify(trust), 'pinned-trust.json'), bundle: file(rolledBack) });
    await expectRed(p, 'log-consistency', /log rolled back: the pinned checkpoint \(.*\) has \d+ entries, this later checkpoint \(.*\) only \d+/);
  });

  it('a trust file for another appliance: the key chain fails', async () => {
    const other = newAppliance();
    const p = await open(bundle, { trust: other.trustPath, key: null });
    await expectRed(p, 'key-chain', /the bundle comes from appliance .*, the trust file pins/);
  });

  it('a clear card number in recorded content: found by the re-scan, shown masked', async () => {
    const B = newAppliance();
    const app = await Appliance.open(B.configPath);
    await recordSessions(app, [{ subject: 'leaky', commands: 1, extra: [{ type: 'result', command: 1, rows: [['Visa 4111 1111 1111 1111']] }] }]);
    await app.close();
    const b = await exportTo(B.configPath, join(B.dir, 'b.vigil'));
    const p = await open(b, { trust: B.trustPath, key: join(B.dir, 'auditor.key') });
    await expectRed(p, 'pan-rescan', /frame \d+: clear visa number 411111\*{6}1111 in recorded content/);
    expect(await p.locator('body').innerText()).not.toContain('4111 1111 1111 1111');
    await screenshot(p, '11-clear-pan', { fullPage: true });
  });

  it('an auditor key the archives were not sealed to: decryption says so', async () => {
    const other = newAppliance();
    const p = await open(bundle, { key: join(other.dir, 'auditor.key') });
    await expectRed(p, 'decryption', new RegExp(`not sealed to auditor key ${other.auditor.keyId}`));
  });

  it('a file that is not a bundle: a clear error, nothing else', async () => {
    const p = await viewer.page();
    await openEvidence(p, { trust: A.trustPath, bundle: file('hello, this is not a bundle\n'.repeat(100)) });
    expect(await p.getByTestId('banner').innerText()).toMatch(/The bundle cannot be read[\s\S]*not a valid Vigil bundle: header checksum mismatch at offset 0/);
    for (const id of ['signatures', 'digests', 'decryption']) expect(await checkStatus(p, id)).toBe('not-run');
    expect(await p.getByTestId('banner').innerText()).not.toMatch(/decrypted|re-scanned|Verified/);
    expect(problems(p)).toEqual([]);
  });
});
