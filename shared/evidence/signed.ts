/**
 * Signed statements (checkpoints, archive manifests, bundle manifests, key rotations) travel as an
 * envelope that carries the exact signed text, so verification never depends on re-serialising JSON:
 *
 *   { "signed": "<JSON text>", "keyId": "<16 hex>", "sig": "<base64 Ed25519 signature>" }
 *
 * The signature covers UTF-8("<label>\n" + signed). The label names the statement's kind, so a
 * signature made for one kind can never be replayed as another.
 */
import { z } from 'zod';
import { fromBase64, toBase64, utf8 } from '../bytes.ts';
import { crypto } from '../crypto/backend.ts';
import { VigilError } from '../errors.ts';

export const SIGNED_LABELS = {
  checkpoint: 'vigil.checkpoint.v1',
  archiveManifest: 'vigil.archive-manifest.v1',
  bundleManifest: 'vigil.bundle-manifest.v1',
  keyRotation: 'vigil.key-rotation.v1',
  purgeRecord: 'vigil.purge-record.v1',
  fleetEvent: 'vigil.fleet-event.v1',
  witnessCosignature: 'vigil.witness-cosignature.v1',
} as const;
export type SignedLabel = (typeof SIGNED_LABELS)[keyof typeof SIGNED_LABELS];

export const signedEnvelopeSchema = z.object({
  signed: z.string().max(1 << 20),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/),
});
export type SignedEnvelope = z.infer<typeof signedEnvelopeSchema>;

/**
 * The bundle manifest lists every archive (about 200 bytes each): a bundle of 100,000 sessions signs
 * ~20 MB of text, far above what other statements need. Its envelope may carry up to 256 MiB.
 */
export const bundleManifestEnvelopeSchema = signedEnvelopeSchema.extend({ signed: z.string().max(256 * 1024 * 1024) });

/** Something that signs with the appliance's current Ed25519 key. */
export interface Signer {
  readonly keyId: string;
  sign(message: Uint8Array): Uint8Array;
}

export function signedMessage(label: SignedLabel, signed: string): Uint8Array {
  return utf8(`${label}\n${signed}`);
}

export function signStatement(label: SignedLabel, statement: object, signer: Signer): SignedEnvelope {
  const signed = JSON.stringify(statement);
  return { signed, keyId: signer.keyId, sig: toBase64(signer.sign(signedMessage(label, signed))) };
}

export function verifyEnvelopeSignature(label: SignedLabel, env: SignedEnvelope, publicKey: Uint8Array): boolean {
  let sig: Uint8Array;
  try {
    sig = fromBase64(env.sig);
  } catch {
    return false;
  }
  return crypto().verifyDetached(sig, signedMessage(label, env.signed), publicKey);
}

/** Parses the signed text of an envelope against a schema; `what` names it in errors. */
export function parseSigned<T>(env: SignedEnvelope, schema: z.ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(env.signed);
  } catch {
    throw new VigilError('E_FORMAT', `${what}: signed text is not JSON`);
  }
  return parseWith(schema, json, what);
}

/** Validates untrusted JSON, turning schema errors into one readable VigilError. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? ` at ${issue.path.join('.')}` : '';
  throw new VigilError('E_FORMAT', `${what}: invalid${where}: ${issue.message}`);
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new VigilError('E_FORMAT', `${what}: not valid JSON`);
  }
}
