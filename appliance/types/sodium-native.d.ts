// The subset of sodium-native (which ships no types) that Vigil uses. Outputs are caller-allocated buffers.
declare module 'sodium-native' {
  type B = Uint8Array;
  const sodium: {
    randombytes_buf(out: B): void;
    crypto_hash_sha256(out: B, data: B): void;
    crypto_generichash(out: B, data: B, key?: B): void;
    crypto_secretstream_xchacha20poly1305_STATEBYTES: number;
    crypto_secretstream_xchacha20poly1305_ABYTES: number;
    crypto_secretstream_xchacha20poly1305_HEADERBYTES: number;
    crypto_secretstream_xchacha20poly1305_KEYBYTES: number;
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE: number;
    crypto_secretstream_xchacha20poly1305_TAG_FINAL: number;
    crypto_secretstream_xchacha20poly1305_keygen(key: B): void;
    crypto_secretstream_xchacha20poly1305_init_push(state: B, header: B, key: B): void;
    crypto_secretstream_xchacha20poly1305_push(state: B, c: B, m: B, ad: B | null, tag: number): number;
    crypto_secretstream_xchacha20poly1305_init_pull(state: B, header: B, key: B): void;
    crypto_secretstream_xchacha20poly1305_pull(state: B, m: B, tag: B, c: B, ad: B | null): number;
    crypto_box_keypair(pk: B, sk: B): void;
    crypto_box_seal(c: B, m: B, pk: B): void;
    crypto_box_seal_open(m: B, c: B, pk: B, sk: B): boolean;
    // For scripts/test-vectors/deterministic-crypto.ts (sealed boxes from a seeded ephemeral key).
    crypto_box_PUBLICKEYBYTES: number;
    crypto_box_SECRETKEYBYTES: number;
    crypto_box_SEEDBYTES: number;
    crypto_box_NONCEBYTES: number;
    crypto_box_MACBYTES: number;
    crypto_box_seed_keypair(pk: B, sk: B, seed: B): void;
    crypto_box_easy(c: B, m: B, n: B, pk: B, sk: B): void;
    crypto_sign_keypair(pk: B, sk: B): void;
    crypto_sign_seed_keypair(pk: B, sk: B, seed: B): void;
    crypto_sign_detached(sig: B, m: B, sk: B): void;
    crypto_sign_verify_detached(sig: B, m: B, pk: B): boolean;
    crypto_pwhash(out: B, pw: B, salt: B, ops: number, mem: number, alg: number): void;
    crypto_pwhash_ALG_ARGON2ID13: number;
    crypto_secretbox_easy(c: B, m: B, n: B, k: B): void;
    crypto_secretbox_open_easy(m: B, c: B, n: B, k: B): boolean;
    sodium_memzero(b: B): void;
  };
  export default sodium;
}
