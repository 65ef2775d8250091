/**
 * The vectors taken from one appliance run (appliance-run.ts): a whole small bundle with its trust file,
 * the interrupted archive inside it, the key rotation, consistency proofs (one from size 0), and the
 * command hashes the approvals bound.
 */
import { createHmac } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toHex, utf8 } from '../../shared/bytes.ts';
import { sha256 } from '../../shared/crypto/hash.ts';
import { memorySource } from '../../shared/evidence/byte-source.ts';
import { fingerprint } from '../../shared/evidence/key-id.ts';
import { readTarIndex } from '../../shared/evidence/tar.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { emptyRoot, leafHash } from '../../shared/merkle/index.ts';
import { archiveParts } from './archive-parts.ts';
import { COMMAND_KEY, REQUEST_IDS, SINCE, T0, runAppliance, type ApplianceRun } from './appliance-run.ts';
import { VECTOR_APPLIANCE_ID } from './basic-vectors.ts';
import { writeBundle } from './bundle-writer.ts';

export const BUNDLE_ID = '00000000-0000-4000-8000-0000000000b1';

export async function bundleVectors(out: string, work: string, auditor: AuditorSecret): Promise<Record<string, unknown>> {
  const run = await runAppliance(work, auditor);
  try {
    run.clock.set(T0 + 660_000);
    const bundlePath = join(out, 'small.vigil');
    rmSync(bundlePath, { force: true });
    const manifest = writeBundle({ ...run, applianceId: VECTOR_APPLIANCE_ID, bundleId: BUNDLE_ID, now: run.clock.now(), since: SINCE, until: null, out: bundlePath });
    writeFileSync(join(out, 'trust.json'), JSON.stringify(run.trust, null, 2) + '\n');
    copyFileSync(run.interruptedArchive, join(out, 'interrupted.vsa'));
    const entries = [...run.log.entries(0, run.log.size())];
    return {
      keyRotation: rotationSection(run, entries),
      consistency: consistencySection(run, entries),
      commandHash: commandHashSection(run, entries),
      interruptedArchive: interruptedSection(out, auditor, entries),
      bundle: await bundleSection(out, bundlePath, manifest.log, entries.length),
    };
  } finally {
    run.db.close();
  }
}

function entryOf(entries: string[], type: string, sessionId?: string): { index: number; text: string } {
  const index = entries.findIndex((e) => {
    const x = JSON.parse(e) as { type: string; sessionId?: string };
    return x.type === type && (sessionId === undefined || x.sessionId === sessionId);
  });
  return { index, text: entries[index]! };
}

function rotationSection(run: ApplianceRun, entries: string[]) {
  const [a, b] = run.signingKeys;
  const rotation = run.keys.records().find((k) => k.rotation)!.rotation!;
  const at = (JSON.parse(rotation.signed) as { at: string }).at;
  return {
    description:
      'Key A (pinned in trust.json) announces key B: a vigil-key-rotation statement signed by A with label vigil.key-rotation.v1 (§5, §8), ' +
      'in keys/rotations.json and in the key.rotated log entry. After following it, A may sign only before `at` and B from `at` on: ' +
      'the bundle manifest, the checkpoint and the archive manifests sealed after `at` verify under B.',
    keys: [a, b].map((k) => ({ ...k!, fingerprint: fingerprint(fromHex(k!.publicKey)) })),
    rotation,
    at,
    logEntry: entryOf(entries, 'key.rotated'),
    windowsAfterRotation: [
      { keyId: a!.keyId, validFrom: a!.createdAt, validUntil: at, source: 'pinned' },
      { keyId: b!.keyId, validFrom: at, validUntil: null, source: `announced by ${a!.keyId}` },
    ],
  };
}

function consistencySection(run: ApplianceRun, entries: string[]) {
  const size = entries.length;
  const cases = [0, 1, 3, 4, 8, size].filter((n, i, all) => n <= size && all.indexOf(n) === i);
  return {
    description:
      'The whole log of the run: every entry, its RFC 6962 leaf hash, the root at every size (size 0: SHA-256 of the empty string), and consistency ' +
      'proofs (RFC 6962 §2.1.2, verified as RFC 9162 §2.1.4.2) from several sizes to the final one. From size 0 the proof is empty and the old root ' +
      'must be the empty-tree root; between equal sizes it is empty and the roots are equal.',
    entries,
    leafHashes: entries.map((e) => toHex(leafHash(utf8(e)))),
    roots: Array.from({ length: size + 1 }, (_, n) => (n === 0 ? toHex(emptyRoot()) : run.log.root(n))),
    proofs: cases.map((fromSize) => ({
      fromSize,
      toSize: size,
      fromRoot: fromSize === 0 ? toHex(emptyRoot()) : run.log.root(fromSize),
      toRoot: run.log.root(size),
      proof: run.log.consistencyProof(fromSize, size),
    })),
  };
}

function commandHashSection(run: ApplianceRun, entries: string[]) {
  return {
    description:
      'commandHash = hex(HMAC-SHA-256(key, UTF-8(sessionId) ‖ 0x00 ‖ exactBytes)) (§4.2). exactBytes for PostgreSQL: "vigil-pg-command-v1" 0x00, ' +
      'kind (Q or E), u32 statement length, statement, u16 parameter count, per parameter u16 format, i32 length (-1 = NULL), bytes. ' +
      'The second case is an Execute with a text parameter, a NULL and a binary parameter. The key is the appliance fingerprint key, never exported: a verifier cannot recompute these, an appliance implementation can.',
    key: toHex(COMMAND_KEY),
    cases: run.held.map((h) => {
      const requested = entries.map((e) => JSON.parse(e) as { type: string; requestId?: string; commandHash?: string }).find((e) => e.type === 'approval.requested' && e.requestId === h.requestId)!;
      // The pipeline computed the logged hash; recomputing it here checks the description above.
      const mine = createHmac('sha256', COMMAND_KEY).update(h.sessionId).update('\0').update(h.exactBytes).digest('hex');
      if (mine !== requested.commandHash) throw new Error(`command hash of ${h.requestId} differs from the one the pipeline logged`);
      return { requestId: h.requestId, sessionId: h.sessionId, exactBytes: toHex(h.exactBytes), commandHash: requested.commandHash };
    }),
  };
}

function interruptedSection(out: string, auditor: AuditorSecret, entries: string[]) {
  const bytes = new Uint8Array(readFileSync(join(out, 'interrupted.vsa')));
  const parts = archiveParts(bytes, auditor);
  const sessionId = (JSON.parse(new TextDecoder().decode(bytes.subarray(13, 13 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(9)))) as { sessionId: string }).sessionId;
  return {
    description:
      'interrupted.vsa (also bundle member archives/00000003-…): the appliance died after frame 0 was durable and anchored, in the middle of writing ' +
      'the next record (15 bytes of a frame announcing 200). Recovery cut the torn record and appended a manifest with outcome "interrupted", ' +
      'no `events`, endedAt = the file\'s last write, stats {}, signed under the current key (B) at sealedAt (§5.1). Its last frame is TAG_MESSAGE (expected).',
    file: 'interrupted.vsa',
    ...parts,
    tornBytesRemoved: 15,
    logEntries: { anchor: entryOf(entries, 'session.anchor', sessionId), interrupted: entryOf(entries, 'session.interrupted', sessionId) },
  };
}

async function bundleSection(out: string, path: string, log: { from: number; to: number }, size: number) {
  const bytes = new Uint8Array(readFileSync(path));
  const members = await readTarIndex(memorySource(bytes));
  const entriesInBundle = log.to - log.from;
  return {
    description:
      'small.vigil, exported with --since ' + SINCE + ', verified against trust.json (which pins key A and the checkpoint of size 3) and, with the ' +
      'auditor key, auditor.key (passphrase above). members lists each tar member in file order: offset of its header block, of its content, its size ' +
      'and the SHA-256 of its content. expected is what a verifier must conclude (§9): with the key every check passes; without it the four content ' +
      'checks are skipped and the verdict is integrity-only. covered/total per check are given as [covered, total].',
    file: 'small.vigil',
    trustFile: 'trust.json',
    bytes: bytes.length,
    sha256: toHex(sha256(bytes)),
    members: members.map((m) => ({ name: m.name, headerOffset: m.offset - 512, offset: m.offset, size: m.size, sha256: toHex(sha256(bytes.subarray(m.offset, m.offset + m.size))) })),
    log: { ...log, logSizeAtExport: size },
    expected: {
      withKey: {
        verdict: 'pass',
        checks: {
          'signatures': ['pass', 5, 5],
          'key-chain': ['pass', 2, 2],
          'digests': ['pass', 3, 3],
          'log-inclusion': ['pass', entriesInBundle, entriesInBundle],
          'log-consistency': ['pass', 1, 1],
          'session-sequence': ['pass', 3, 3],
          'decryption': ['pass', 3, 3],
          'tag-final': ['pass', 2, 2],
          'pan-rescan': ['pass', 3, 3],
          'approvals': ['pass', 3, 3],
        },
        sessions: [
          { seq: 1, status: 'complete' },
          { seq: 2, status: 'complete' },
          { seq: 3, status: 'interrupted' },
        ],
        approvals: [
          { requestId: REQUEST_IDS[0], outcome: 'approved', ran: true, hashMatches: true },
          { requestId: REQUEST_IDS[1], outcome: 'denied', ran: false, hashMatches: true },
        ],
      },
      withoutKey: {
        verdict: 'integrity-only',
        skipped: ['decryption', 'tag-final', 'pan-rescan', 'approvals'],
      },
    },
  };
}
