/**
 * A checkpoint statement names the key that signed it (`keyId` inside the signed text), and the envelope
 * names it again. They must agree: the report shows the statement's, so a checkpoint signed by one trusted
 * key while claiming another would make the report name a key that signed nothing (evidence-format §8.2).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex, toBase64, utf8 } from '../../../shared/bytes.ts';
import { crypto } from '../../../shared/crypto/backend.ts';
import { parseAuditorSecretKey } from '../../../shared/evidence/auditor-key.ts';
import { SIGNED_LABELS, signedMessage } from '../../../shared/evidence/signed.ts';
import { parseTrustFile } from '../../../shared/evidence/trust.ts';
import { failures, rewriteBundle, verifyBytes } from '../../helpers/evidence.ts';

const dir = join(import.meta.dirname, '..', '..', '..', 'docs', 'test-vectors');
const v = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8'));
const bundle = new Uint8Array(readFileSync(join(dir, v.bundle.file)));
const trust = parseTrustFile(readFileSync(join(dir, v.bundle.trustFile), 'utf8'));
const [keyA, keyB] = v.keyRotation.keys;

/** Re-signs a checkpoint envelope with key B after replacing the statement's keyId. */
function resigned(env: { signed: string }, statementKeyId: string): { signed: string; keyId: string; sig: string } {
  const signed = JSON.stringify({ ...JSON.parse(env.signed), keyId: statementKeyId });
  const kp = crypto().signKeypair(fromHex(keyB.seed));
  return { signed, keyId: keyB.keyId, sig: toBase64(crypto().signDetached(signedMessage(SIGNED_LABELS.checkpoint, signed), kp.secretKey)) };
}

describe('a checkpoint names the key that signed it', () => {
  const cpMember = v.bundle.members.find((m: { name: string }) => m.name === 'checkpoint.json');
  const cpEnv = JSON.parse(new TextDecoder().decode(bundle.subarray(cpMember.offset, cpMember.offset + cpMember.size)));

  it('the vector bundle verifies as it is', async () => {
    expect(failures(await verifyBytes(bundle, trust))).toEqual([]);
  });

  it('a checkpoint signed by B whose statement says A fails `signatures`', async () => {
    const forged = await rewriteBundle(bundle, { 'checkpoint.json': utf8(JSON.stringify(resigned(cpEnv, keyA.keyId))) });
    const r = await verifyBytes(forged, trust);
    expect(r.verdict.status).toBe('fail');
    expect(failures(r)).toContain(`signatures: checkpoint (size ${JSON.parse(cpEnv.signed).size}): the statement names key ${keyA.keyId} but key ${keyB.keyId} signed it`);
  });

  it('re-signed honestly, the same checkpoint verifies (the test changes nothing else)', async () => {
    const same = await rewriteBundle(bundle, { 'checkpoint.json': utf8(JSON.stringify(resigned(cpEnv, keyB.keyId))) });
    const auditor = parseAuditorSecretKey(readFileSync(join(dir, v.auditor.secretFile), 'utf8')).unlock(v.auditor.passphrase);
    expect(failures(await verifyBytes(same, trust, auditor))).toEqual([]);
  });
});
