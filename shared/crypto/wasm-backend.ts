/** CryptoBackend on libsodium compiled to wasm (libsodium-wrappers-sumo: the sumo build has Argon2id). */
import sodium from 'libsodium-wrappers-sumo';
import { authFailed, type CryptoBackend } from './backend.ts';

export async function loadWasmBackend(): Promise<CryptoBackend> {
  await sodium.ready;
  const s = sodium;
  const TAG_FINAL = s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  const TAG_MESSAGE = s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  return {
    name: `libsodium-wasm ${s.sodium_version_string()}`,
    randomBytes: (n) => s.randombytes_buf(n),
    sha256: (d) => s.crypto_hash_sha256(d),
    sha256Parts(parts) {
      const st = s.crypto_hash_sha256_init();
      for (const p of parts) s.crypto_hash_sha256_update(st, p);
      return s.crypto_hash_sha256_final(st);
    },
    blake2bKeyed: (key, data, outLen) => s.crypto_generichash(outLen, data, key),
    secretstreamKeygen: () => s.crypto_secretstream_xchacha20poly1305_keygen(),
    secretstreamInitPush(key) {
      const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
      return {
        header,
        stream: {
          push: (m, ad, final) => s.crypto_secretstream_xchacha20poly1305_push(state, m, ad, final ? TAG_FINAL : TAG_MESSAGE),
          pushInto: (out, m, ad, final) => out.set(s.crypto_secretstream_xchacha20poly1305_push(state, m, ad, final ? TAG_FINAL : TAG_MESSAGE)),
        },
      };
    },
    secretstreamInitPull(key, header) {
      let state: ReturnType<typeof s.crypto_secretstream_xchacha20poly1305_init_pull>;
      try {
        state = s.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
      } catch (e) {
        throw authFailed('secretstream header');
      }
      return {
        pull(c, ad) {
          let r: { message: Uint8Array; tag: number } | false;
          try {
            r = s.crypto_secretstream_xchacha20poly1305_pull(state, c, ad, 'uint8array');
          } catch {
            r = false;
          }
          if (!r) throw authFailed('frame');
          return { message: r.message, final: r.tag === TAG_FINAL };
        },
      };
    },
    boxKeypair() {
      const kp = s.crypto_box_keypair();
      return { publicKey: kp.publicKey, secretKey: kp.privateKey };
    },
    boxSeal: (m, pk) => s.crypto_box_seal(m, pk),
    boxSealOpen(c, pk, sk) {
      try {
        return s.crypto_box_seal_open(c, pk, sk);
      } catch {
        throw authFailed('sealed box');
      }
    },
    signKeypair(seed) {
      const kp = seed ? s.crypto_sign_seed_keypair(seed) : s.crypto_sign_keypair();
      return { publicKey: kp.publicKey, secretKey: kp.privateKey };
    },
    signDetached: (m, sk) => s.crypto_sign_detached(m, sk),
    verifyDetached(sig, m, pk) {
      try {
        return s.crypto_sign_verify_detached(sig, m, pk);
      } catch {
        return false;
      }
    },
    pwhash: (n, pw, salt, ops, mem) => s.crypto_pwhash(n, pw, salt, ops, mem, s.crypto_pwhash_ALG_ARGON2ID13),
    secretboxEasy: (m, n, k) => s.crypto_secretbox_easy(m, n, k),
    secretboxOpenEasy(c, n, k) {
      try {
        return s.crypto_secretbox_open_easy(c, n, k);
      } catch {
        throw authFailed('secretbox');
      }
    },
  };
}
