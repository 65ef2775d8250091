/**
 * What one appliance's bundle proves of its log, for checking the others' cosignatures of it: the root at
 * every size from its first included entry to its checkpoint (rebuilt from the prefix and the entries),
 * and at each size a shipped consistency proof starts from. Also the cosignatures and refusals its own
 * log holds (`fleet.cosigned`, `fleet.witness-refused`). Read after verifyBundle passed its log checks on
 * the same bytes; the root rebuilt here must still equal the checkpoint's, or there is no view.
 */
import { fromHex, fromUtf8, toHex } from '../../bytes.ts';
import { CompactRange, leafHash, verifyConsistency } from '../../merkle/index.ts';
import { BUNDLE_FILES, consistencyProofsSchema, logPrefixSchema } from '../bundle-format.ts';
import type { ByteSource } from '../byte-source.ts';
import { readCheckpoint } from '../checkpoint.ts';
import { cosignedCheckpointSchema, type CosignedCheckpoint } from '../fleet.ts';
import { parseJson, parseWith, signedEnvelopeSchema, type SignedEnvelope } from '../signed.ts';
import { readTarIndex } from '../tar.ts';
import type { LogView, WitnessRefusal } from './fleet-cosignatures.ts';
import { lines } from './verify-bundle.ts';

export interface BundleFleetFacts {
  view: LogView;
  checkpoint: SignedEnvelope;
  cosigned: CosignedCheckpoint[];
  refusals: WitnessRefusal[];
}

export async function bundleFleetFacts(src: ByteSource): Promise<BundleFleetFacts> {
  const members = await readTarIndex(src);
  const member = (name: string) => {
    const m = members.find((x) => x.name === name);
    if (!m) throw new Error(`${name} is missing`);
    return m;
  };
  const json = async (name: string) => {
    const m = member(name);
    return parseJson(fromUtf8(await src.read(m.offset, m.size)), name);
  };
  const cpEnv = parseWith(signedEnvelopeSchema, await json(BUNDLE_FILES.checkpoint), BUNDLE_FILES.checkpoint);
  const cp = readCheckpoint(cpEnv);
  const prefix = parseWith(logPrefixSchema, await json(BUNDLE_FILES.prefix), BUNDLE_FILES.prefix);
  const proofs = parseWith(consistencyProofsSchema, await json(BUNDLE_FILES.consistency), BUNDLE_FILES.consistency);
  const range = CompactRange.fromHashes(0, prefix.size, prefix.hashes.map(fromHex));
  const roots = new Map<number, string>([[range.end, toHex(range.root())]]);
  const cosigned: CosignedCheckpoint[] = [];
  const refusals: WitnessRefusal[] = [];
  for await (const line of lines(src, member(BUNDLE_FILES.entries))) {
    range.append(leafHash(line));
    roots.set(range.end, toHex(range.root()));
    const text = fromUtf8(line);
    if (!text.includes('"type":"fleet.')) continue;
    const e = JSON.parse(text) as Record<string, unknown>;
    if (e['type'] === 'fleet.cosigned') {
      const c = cosignedCheckpointSchema.safeParse({ checkpoint: e['checkpoint'], cosignature: e['cosignature'] });
      if (c.success) cosigned.push(c.data);
    } else if (e['type'] === 'fleet.witness-refused') {
      const offered = signedEnvelopeSchema.safeParse(e['offered']);
      const earlier = signedEnvelopeSchema.safeParse((e['cosigned'] as { checkpoint?: unknown } | null)?.checkpoint);
      if (offered.success) {
        refusals.push({
          witnessId: cp.applianceId,
          subject: String(e['subject']),
          kind: String(e['kind']),
          reason: String(e['reason']),
          offered: offered.data,
          cosigned: earlier.success ? { checkpoint: earlier.data } : null,
        });
      }
    }
  }
  if (range.end !== cp.size || roots.get(cp.size) !== cp.root) throw new Error(`the log entries do not rebuild the checkpoint of ${cp.applianceId}`);
  for (const p of proofs) {
    if (p.fromSize <= cp.size && verifyConsistency(p.fromSize, cp.size, fromHex(p.fromRoot), fromHex(cp.root), p.proof.map(fromHex))) roots.set(p.fromSize, p.fromRoot);
  }
  return { view: { applianceId: cp.applianceId, checkpoint: cp, rootAt: (size) => roots.get(size) }, checkpoint: cpEnv, cosigned, refusals };
}
