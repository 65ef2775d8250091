/**
 * Writes docs/test-vectors/: archives and a bundle made by Vigil's real writers, the keys that open them,
 * and every value an independent verifier computes (vectors.json). Deterministic: every random choice
 * comes from a seeded generator (test-vectors/deterministic-crypto.ts), every time from a fixed clock,
 * so re-running writes the same bytes; test/unit/shared/test-vectors-regenerate.test.ts checks that the
 * committed files are what this script writes.
 *
 * Usage: node bin/run-ts.mjs scripts/make-test-vectors.ts [OUT_DIR]   (default docs/test-vectors)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crypto, useCryptoBackend, type CryptoBackend } from '../shared/crypto/backend.ts';
import { nativeBackend } from '../appliance/crypto/native-backend.ts';
import { auditorVector, tinyArchiveVector } from './test-vectors/basic-vectors.ts';
import { bundleVectors } from './test-vectors/bundle-vectors.ts';
import { deterministicBackend } from './test-vectors/deterministic-crypto.ts';

export const VECTOR_FILES = ['vectors.json', 'tiny.vsa', 'interrupted.vsa', 'small.vigil', 'trust.json', 'auditor.pub', 'auditor.key'] as const;

export async function makeTestVectors(out: string): Promise<void> {
  mkdirSync(out, { recursive: true });
  let previous: CryptoBackend | undefined;
  try {
    previous = crypto();
  } catch {
    previous = undefined;
  }
  const native = nativeBackend();
  const work = mkdtempSync(join(tmpdir(), 'vigil-vectors-'));
  try {
    // One seeded stream per part: changing one part leaves the others' bytes alone.
    useCryptoBackend(deterministicBackend(native, 'auditor'));
    const auditor = auditorVector(out);
    useCryptoBackend(deterministicBackend(native, 'tiny'));
    const tiny = await tinyArchiveVector(out, auditor.secret);
    useCryptoBackend(deterministicBackend(native, 'bundle'));
    const bundle = await bundleVectors(out, work, auditor.secret);
    const vectors = {
      description:
        'Vigil evidence-format test vectors (docs/evidence-format.md, "Appendix A"). Every file here was made by Vigil\'s own writers with a seeded ' +
        'random generator and a fixed clock (scripts/make-test-vectors.ts). Hex is lowercase; base64 is RFC 4648 with padding; times are ISO 8601 UTC.',
      auditor: auditor.section,
      ...tiny,
      ...bundle,
    };
    writeFileSync(join(out, 'vectors.json'), JSON.stringify(vectors, null, 2) + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (previous) useCryptoBackend(previous);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = process.argv[2] ?? 'docs/test-vectors';
  await makeTestVectors(out);
  console.log(`wrote ${VECTOR_FILES.map((f) => join(out, f)).join(', ')}`);
}
