/**
 * A bundle holds exactly what its signed manifest accounts for, in the exporter's order: the fixed members
 * (FIXED_MEMBERS, the order appliance/export writes), then the listed archives in manifest order. Anything else is fatal, so a
 * bundle has one layout and nothing can ride along in it unverified. A listed archive that is absent is not
 * a container error: the verifier reports it (from the signed log) as missing.
 */
import { VigilError } from '../errors.ts';
import { BUNDLE_FILES, archiveMemberName, type BundleManifest } from './bundle-format.ts';
import type { TarMember } from './tar.ts';

/** The fixed members in the order they are written; the log entries come last, just before the archives. */
export const FIXED_MEMBERS: readonly string[] = [
  BUNDLE_FILES.manifest,
  BUNDLE_FILES.checkpoint,
  BUNDLE_FILES.rotations,
  BUNDLE_FILES.prefix,
  BUNDLE_FILES.consistency,
  BUNDLE_FILES.entries,
];

function bad(message: string): VigilError {
  return new VigilError('E_BUNDLE_FORMAT', `not a valid Vigil bundle: ${message}`);
}

/** The members a bundle with this manifest may hold, in the only order they may appear. */
export function expectedMembers(manifest: BundleManifest): string[] {
  const archives = manifest.archives.map((a) => a.file);
  const seen = new Set<string>();
  for (const a of manifest.archives) {
    if (a.file !== archiveMemberName(a.seq, a.sessionId)) throw bad(`bundle.json lists archive ${a.file} for session #${a.seq} (${a.sessionId}); its name must be ${archiveMemberName(a.seq, a.sessionId)}`);
    if (seen.has(a.file)) throw bad(`bundle.json lists ${a.file} twice`);
    seen.add(a.file);
  }
  return [...FIXED_MEMBERS, ...archives];
}

export function checkBundleMembers(members: readonly TarMember[], manifest: BundleManifest): void {
  const order = expectedMembers(manifest);
  const rank = new Map(order.map((n, i) => [n, i]));
  let previous: { name: string; rank: number } | undefined;
  for (const m of members) {
    const r = rank.get(m.name);
    if (r === undefined) throw bad(`member ${m.name} is not listed in bundle.json`);
    if (previous && r < previous.rank) {
      throw bad(`member ${m.name} is out of order: it must come before ${previous.name} (the order is ${FIXED_MEMBERS.join(', ')}, then the archives as bundle.json lists them)`);
    }
    previous = { name: m.name, rank: r };
  }
  for (const name of FIXED_MEMBERS) if (!members.some((m) => m.name === name)) throw bad(`${name} is missing`);
}
