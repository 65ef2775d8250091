/** Shared set-up for evidence tests: real appliances, real bundles, and byte-level surgery on them. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readU32 } from '../../shared/bytes.ts';
import { createAuditorKey, parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import { memorySource } from '../../shared/evidence/byte-source.ts';
import { readTarIndex, type TarMember } from '../../shared/evidence/tar.ts';
import { parseTrustFile, type TrustFile } from '../../shared/evidence/trust.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { verifyBundle } from '../../shared/evidence/verify/verify-bundle.ts';
import type { VerificationReport } from '../../shared/evidence/verify/report.ts';
import { Appliance } from '../../appliance/appliance.ts';
import type { EventInput } from '../../appliance/evidence/archive-writer.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import { TarWriter } from '../../appliance/export/tar-writer.ts';
import { initAppliance } from '../../appliance/init.ts';

/** Argon2id parameters small enough for tests (production keys use KDF_DEFAULTS). */
export const FAST_KDF = { opsLimit: 1, memLimit: 8 * 1024 * 1024 };

export function tempDir(prefix = 'vigil-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestAppliance {
  dir: string;
  configPath: string;
  trust: TrustFile;
  trustPath: string;
  auditor: AuditorSecret;
}

export function newAppliance(dir = tempDir()): TestAppliance {
  const key = createAuditorKey({ label: 'test' });
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  writeFileSync(join(dir, 'auditor.key'), key.secretFile, { mode: 0o600 });
  const r = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')] });
  return {
    dir,
    configPath: r.configPath,
    trustPath: r.trustPath,
    trust: parseTrustFile(readFileSync(r.trustPath, 'utf8')),
    auditor: parseAuditorSecretKey(key.secretFile).unlock(),
  };
}

export function verifyBytes(bundle: Uint8Array, trust: TrustFile, auditor?: AuditorSecret): Promise<VerificationReport> {
  return verifyBundle(memorySource(bundle), trust, auditor ? { auditor } : {});
}

/** All failure messages of a report, each prefixed by its check id. */
export function failures(r: VerificationReport): string[] {
  return [...(r.fatal ? [`fatal: ${r.fatal}`] : []), ...r.checks.flatMap((c) => c.failures.map((f) => `${c.id}: ${f}`))];
}

export async function members(bundle: Uint8Array): Promise<TarMember[]> {
  return readTarIndex(memorySource(bundle));
}

export async function memberBytes(bundle: Uint8Array, name: string): Promise<Uint8Array> {
  const m = (await members(bundle)).find((x) => x.name === name);
  if (!m) throw new Error(`no member ${name}`);
  return bundle.slice(m.offset, m.offset + m.size);
}

/** Rebuilds a bundle with members replaced (Uint8Array) or removed (null); order is kept. */
export async function rewriteBundle(bundle: Uint8Array, changes: Record<string, Uint8Array | null>): Promise<Uint8Array> {
  const path = join(tempDir(), 'b.vigil');
  const tar = new TarWriter(path);
  for (const m of await members(bundle)) {
    const next = m.name in changes ? changes[m.name] : bundle.subarray(m.offset, m.offset + m.size);
    if (next) tar.addBytes(m.name, next);
  }
  for (const [name, content] of Object.entries(changes)) {
    if (content && !(await members(bundle)).some((m) => m.name === name)) tar.addBytes(name, content);
  }
  tar.finish();
  return new Uint8Array(readFileSync(path));
}

export interface RawRecord {
  type: string;
  offset: number;
  /** The whole record: type, length and body. */
  bytes: Uint8Array;
}

/** Splits an archive into its magic and records, for tests that cut and splice them. */
export function archiveRecords(archive: Uint8Array): { magic: Uint8Array; records: RawRecord[] } {
  const records: RawRecord[] = [];
  let o = 8;
  while (o < archive.length) {
    const len = readU32(archive, o + 1);
    records.push({ type: String.fromCharCode(archive[o]!), offset: o, bytes: archive.slice(o, o + 5 + len) });
    o += 5 + len;
  }
  return { magic: archive.slice(0, 8), records };
}

export function joinRecords(magic: Uint8Array, records: readonly { bytes: Uint8Array }[]): Uint8Array {
  const parts = [magic, ...records.map((r) => r.bytes)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A new appliance whose recorder wrote `sessions` (each one archive: the events as given, then closed),
 * exported as one bundle by the real exporter. `'frame'` in the events ends the frame there (flush()).
 */
export async function recordedBundle(sessions: readonly { subject: string; events: readonly (EventInput | 'frame')[]; protocol?: string }[]): Promise<{ appliance: TestAppliance; bundle: Uint8Array }> {
  const appliance = newAppliance();
  const app = await Appliance.open(appliance.configPath);
  try {
    for (const { subject, events, protocol = 'postgres' } of sessions) {
      const s = app.recorder.start({ protocol, identity: { subject }, target: { name: 'db' }, client: { address: '127.0.0.1:5000' } });
      for (const e of events) {
        if (e === 'frame') s.flush();
        else s.record(e);
      }
      await s.close('client terminated');
    }
    const out = join(appliance.dir, 'recorded.vigil');
    await exportBundle(app, { out });
    return { appliance, bundle: new Uint8Array(readFileSync(out)) };
  } finally {
    await app.close();
  }
}
