/**
 * The SHA-256 of the whole bundle file, as received: the fingerprint the auditor compares with the one
 * `vigil export` printed on the appliance, and that every export of the viewer names. Streamed in chunks
 * (a bundle can be many gigabytes; WebCrypto has no incremental digest, libsodium does), reading the next
 * chunk while the current one is hashed.
 */
import sodium from 'libsodium-wrappers-sumo';
import { toHex } from '../../../shared/bytes.ts';
import type { ByteSource } from '../../../shared/evidence/byte-source.ts';
import { VigilError } from '../../../shared/errors.ts';

const CHUNK = 8 * 1024 * 1024;

export async function bundleSha256(src: ByteSource, opts: { onProgress?: (done: number, total: number) => void; cancelled?: () => boolean } = {}): Promise<string> {
  await sodium.ready;
  const state = sodium.crypto_hash_sha256_init();
  const read = (at: number) => (at < src.size ? src.read(at, Math.min(CHUNK, src.size - at)) : Promise.resolve(new Uint8Array(0)));
  let next = read(0);
  for (let at = 0; at < src.size; ) {
    const chunk = await next;
    if (opts.cancelled?.()) throw new VigilError('E_CANCELLED', 'another bundle was opened');
    at += chunk.length;
    next = read(at);
    sodium.crypto_hash_sha256_update(state, chunk);
    opts.onProgress?.(at, src.size);
  }
  return toHex(sodium.crypto_hash_sha256_final(state));
}
