/**
 * A CryptoBackend whose every random choice comes from a seeded generator, so the test vectors are the
 * same bytes on every run. Only for scripts/make-test-vectors.ts: a real appliance must never use it.
 *
 * Randomness: block i = SHA-256("vigil-test-vectors\n" ‖ label ‖ u64(i)), read as one stream.
 * libsodium draws randomness inside two primitives Vigil uses, so they are rebuilt here from public
 * parts, byte-for-byte what libsodium computes given the same random input:
 * - crypto_box_seal: ephemeral X25519 pair from a seed, nonce = BLAKE2b-192(epk ‖ recipient pk),
 *   output epk ‖ crypto_box_easy(m, nonce, recipient pk, esk);
 * - secretstream init_push: the 24-byte header is drawn from the stream; init_pull derives the same
 *   state from key and header as init_push does, and push then runs on that state.
 * Opening (crypto_box_seal_open, init_pull/pull) is libsodium's own, and the tests decrypt with it.
 */
import { createHash } from 'node:crypto';
import sodium from 'sodium-native';
import type { CryptoBackend } from '../../shared/crypto/backend.ts';

const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
const ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES;

/** The seeded stream: the same label gives the same bytes, in the same order of calls. */
export function seededBytes(label: string): (n: number) => Uint8Array {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n) => {
    while (pool.length < n) {
      const c = Buffer.alloc(8);
      c.writeBigUInt64BE(BigInt(counter++));
      const block = createHash('sha256').update(`vigil-test-vectors\n${label}`).update(c).digest();
      const next = new Uint8Array(pool.length + block.length);
      next.set(pool);
      next.set(block, pool.length);
      pool = next;
    }
    const out = pool.slice(0, n);
    pool = pool.slice(n);
    return out;
  };
}

export function deterministicBackend(base: CryptoBackend, label: string): CryptoBackend {
  const random = seededBytes(label);
  const boxSeedKeypair = (seed: Uint8Array) => {
    const publicKey = new Uint8Array(sodium.crypto_box_PUBLICKEYBYTES);
    const secretKey = new Uint8Array(sodium.crypto_box_SECRETKEYBYTES);
    sodium.crypto_box_seed_keypair(publicKey, secretKey, seed);
    return { publicKey, secretKey };
  };
  return {
    ...base,
    name: `deterministic (${label}) over ${base.name}`,
    randomBytes: random,
    secretstreamKeygen: () => random(sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES),
    secretstreamInitPush(key) {
      const header = random(sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES);
      const state = new Uint8Array(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES);
      sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key);
      const push = (out: Uint8Array, m: Uint8Array, ad: Uint8Array, final: boolean) =>
        sodium.crypto_secretstream_xchacha20poly1305_push(state, out, m, ad, final ? TAG_FINAL : TAG_MESSAGE);
      return {
        header,
        stream: {
          push(m, ad, final) {
            const c = new Uint8Array(m.length + ABYTES);
            push(c, m, ad, final);
            return c;
          },
          pushInto: push,
        },
      };
    },
    boxKeypair: () => boxSeedKeypair(random(sodium.crypto_box_SEEDBYTES)),
    boxSeal(m, recipient) {
      const eph = boxSeedKeypair(random(sodium.crypto_box_SEEDBYTES));
      const nonce = new Uint8Array(sodium.crypto_box_NONCEBYTES);
      const both = new Uint8Array(64);
      both.set(eph.publicKey);
      both.set(recipient, 32);
      sodium.crypto_generichash(nonce, both);
      const boxed = new Uint8Array(m.length + sodium.crypto_box_MACBYTES);
      sodium.crypto_box_easy(boxed, m, nonce, recipient, eph.secretKey);
      eph.secretKey.fill(0);
      const out = new Uint8Array(32 + boxed.length);
      out.set(eph.publicKey);
      out.set(boxed, 32);
      return out;
    },
    signKeypair: (seed) => base.signKeypair(seed ?? random(32)),
  };
}
