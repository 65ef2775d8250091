/**
 * CryptoBackend on sodium-native (libsodium, native) plus Node's OpenSSL SHA-256 (SHA-NI where the CPU
 * has it). Byte-for-byte the same results as the wasm backend; ≈5× faster for secretstream.
 */
import { createHash } from 'node:crypto';
import sodium from 'sodium-native';
import { authFailed, type CryptoBackend } from '../../shared/crypto/backend.ts';

const ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES;
const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;

// Results are returned as plain Uint8Array views so callers never depend on Buffer semantics.
const bytes = (n: number): Uint8Array => new Uint8Array(n);

export function nativeBackend(): CryptoBackend {
  return {
    name: 'sodium-native',
    randomBytes(n) {
      const b = bytes(n);
      sodium.randombytes_buf(b);
      return b;
    },
    sha256: (d) => new Uint8Array(createHash('sha256').update(d).digest()),
    sha256Parts(parts) {
      const h = createHash('sha256');
      for (const p of parts) h.update(p);
      return new Uint8Array(h.digest());
    },
    blake2bKeyed(key, data, outLen) {
      const out = bytes(outLen);
      sodium.crypto_generichash(out, data, key);
      return out;
    },
    secretstreamKeygen() {
      const k = bytes(sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES);
      sodium.crypto_secretstream_xchacha20poly1305_keygen(k);
      return k;
    },
    secretstreamInitPush(key) {
      const state = bytes(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES);
      const header = bytes(sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES);
      sodium.crypto_secretstream_xchacha20poly1305_init_push(state, header, key);
      return {
        header,
        stream: {
          push(m, ad, final) {
            const c = bytes(m.length + ABYTES);
            sodium.crypto_secretstream_xchacha20poly1305_push(state, c, m, ad, final ? TAG_FINAL : TAG_MESSAGE);
            return c;
          },
          pushInto(out, m, ad, final) {
            sodium.crypto_secretstream_xchacha20poly1305_push(state, out, m, ad, final ? TAG_FINAL : TAG_MESSAGE);
          },
        },
      };
    },
    secretstreamInitPull(key, header) {
      if (header.length !== sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES || key.length !== 32) {
        throw authFailed('secretstream header');
      }
      const state = bytes(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES);
      sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key);
      const tag = bytes(1);
      return {
        pull(c, ad) {
          if (c.length < ABYTES) throw authFailed('frame');
          const m = bytes(c.length - ABYTES);
          try {
            sodium.crypto_secretstream_xchacha20poly1305_pull(state, m, tag, c, ad);
          } catch {
            throw authFailed('frame');
          }
          return { message: m, final: tag[0] === TAG_FINAL };
        },
      };
    },
    boxKeypair() {
      const publicKey = bytes(32);
      const secretKey = bytes(32);
      sodium.crypto_box_keypair(publicKey, secretKey);
      return { publicKey, secretKey };
    },
    boxSeal(m, pk) {
      const c = bytes(m.length + 48);
      sodium.crypto_box_seal(c, m, pk);
      return c;
    },
    boxSealOpen(c, pk, sk) {
      if (c.length < 48) throw authFailed('sealed box');
      const m = bytes(c.length - 48);
      if (!sodium.crypto_box_seal_open(m, c, pk, sk)) throw authFailed('sealed box');
      return m;
    },
    signKeypair(seed) {
      const publicKey = bytes(32);
      const secretKey = bytes(64);
      if (seed) sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
      else sodium.crypto_sign_keypair(publicKey, secretKey);
      return { publicKey, secretKey };
    },
    signDetached(m, sk) {
      const sig = bytes(64);
      sodium.crypto_sign_detached(sig, m, sk);
      return sig;
    },
    verifyDetached(sig, m, pk) {
      if (sig.length !== 64 || pk.length !== 32) return false;
      return sodium.crypto_sign_verify_detached(sig, m, pk);
    },
    pwhash(n, pw, salt, ops, mem) {
      const out = bytes(n);
      sodium.crypto_pwhash(out, pw, salt, ops, mem, sodium.crypto_pwhash_ALG_ARGON2ID13);
      return out;
    },
    secretboxEasy(m, n, k) {
      const c = bytes(m.length + 16);
      sodium.crypto_secretbox_easy(c, m, n, k);
      return c;
    },
    secretboxOpenEasy(c, n, k) {
      if (c.length < 16) throw authFailed('secretbox');
      const m = bytes(c.length - 16);
      if (!sodium.crypto_secretbox_open_easy(m, c, n, k)) throw authFailed('secretbox');
      return m;
    },
  };
}
