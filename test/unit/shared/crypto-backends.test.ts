import { describe, expect, it } from 'vitest';
import { loadWasmBackend } from '../../../shared/crypto/wasm-backend.ts';
import { nativeBackend } from '../../../appliance/crypto/native-backend.ts';
import { utf8 } from '../../../shared/bytes.ts';

const wasm = await loadWasmBackend();
const native = nativeBackend();

describe('crypto backends are interchangeable', () => {
  it('hash the same', () => {
    const d = utf8('vigil');
    expect(native.sha256(d)).toEqual(wasm.sha256(d));
    expect(native.sha256Parts([d, d])).toEqual(wasm.sha256Parts([d, d]));
    const k = new Uint8Array(32).fill(7);
    expect(native.blake2bKeyed(k, d, 32)).toEqual(wasm.blake2bKeyed(k, d, 32));
  });

  for (const [wName, w, rName, r] of [
    ['native', native, 'wasm', wasm],
    ['wasm', wasm, 'native', native],
  ] as const) {
    it(`secretstream written by ${wName} is read by ${rName}, TAG_FINAL included`, () => {
      const key = w.secretstreamKeygen();
      const { header, stream } = w.secretstreamInitPush(key);
      const ad = utf8('ad');
      const c1 = stream.push(utf8('one'), ad, false);
      const c2 = stream.push(utf8('two'), ad, true);
      const pull = r.secretstreamInitPull(key, header);
      expect(pull.pull(c1, ad)).toEqual({ message: utf8('one'), final: false });
      expect(pull.pull(c2, ad)).toEqual({ message: utf8('two'), final: true });
    });

    it(`sealed box and signature from ${wName} open with ${rName}`, () => {
      const kp = r.boxKeypair();
      expect(r.boxSealOpen(w.boxSeal(utf8('k'), kp.publicKey), kp.publicKey, kp.secretKey)).toEqual(utf8('k'));
      const seed = new Uint8Array(32).fill(1);
      const s = w.signKeypair(seed);
      expect(r.signKeypair(seed).publicKey).toEqual(s.publicKey);
      const sig = w.signDetached(utf8('m'), s.secretKey);
      expect(r.verifyDetached(sig, utf8('m'), s.publicKey)).toBe(true);
      expect(r.verifyDetached(sig, utf8('n'), s.publicKey)).toBe(false);
    });
  }

  it('rejects tampered frames with E_CRYPTO_AUTH on both', () => {
    for (const b of [wasm, native]) {
      const key = b.secretstreamKeygen();
      const { header, stream } = b.secretstreamInitPush(key);
      const c = stream.push(utf8('x'), utf8(''), false);
      c[3]! ^= 1;
      expect(() => b.secretstreamInitPull(key, header).pull(c, utf8(''))).toThrow(/authentication failed/);
    }
  });

  it('derive the same Argon2id key', () => {
    const salt = new Uint8Array(16).fill(3);
    expect(native.pwhash(32, utf8('pw'), salt, 2, 8 << 20)).toEqual(wasm.pwhash(32, utf8('pw'), salt, 2, 8 << 20));
  });
});
