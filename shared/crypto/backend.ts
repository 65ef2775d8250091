/**
 * The cryptographic primitives Vigil needs, behind one small interface so that the same format and
 * verification code runs on libsodium compiled to wasm (browser, and Node by default) or on a native
 * binding (the appliance injects sodium-native, ≈5× faster). Both produce identical bytes; a test
 * checks it.
 */
import { VigilError } from '../errors.ts';

export interface SecretStreamPush {
  /** Encrypts one message; `final` marks the last frame (TAG_FINAL). Returns message.length + 17 bytes. */
  push(message: Uint8Array, ad: Uint8Array, final: boolean): Uint8Array;
  /** Same, into `out` (exactly message.length + 17 bytes): lets a writer build a record without a copy. */
  pushInto(out: Uint8Array, message: Uint8Array, ad: Uint8Array, final: boolean): void;
}

export interface SecretStreamPull {
  /** Decrypts one frame; throws E_CRYPTO_AUTH when authentication fails. */
  pull(ciphertext: Uint8Array, ad: Uint8Array): { message: Uint8Array; final: boolean };
}

export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface CryptoBackend {
  readonly name: string;
  randomBytes(n: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  /** SHA-256 over the concatenation of parts, without concatenating them. */
  sha256Parts(parts: readonly Uint8Array[]): Uint8Array;
  /** Keyed BLAKE2b: used for token and PAN fingerprints (keyed so they cannot be brute-forced). */
  blake2bKeyed(key: Uint8Array, data: Uint8Array, outLen: number): Uint8Array;

  secretstreamKeygen(): Uint8Array;
  secretstreamInitPush(key: Uint8Array): { header: Uint8Array; stream: SecretStreamPush };
  secretstreamInitPull(key: Uint8Array, header: Uint8Array): SecretStreamPull;

  /** X25519 key pair for sealed boxes. */
  boxKeypair(): KeyPair;
  boxSeal(message: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array;
  /** Throws E_CRYPTO_AUTH when the box was not sealed to this key pair. */
  boxSealOpen(sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array;

  /** Ed25519; a 32-byte seed gives a deterministic key pair. */
  signKeypair(seed?: Uint8Array): KeyPair;
  signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verifyDetached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;

  /** Argon2id13. */
  pwhash(outLen: number, passphrase: Uint8Array, salt: Uint8Array, opsLimit: number, memLimit: number): Uint8Array;
  secretboxEasy(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  /** Throws E_CRYPTO_AUTH on a wrong key or altered ciphertext. */
  secretboxOpenEasy(ciphertext: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
}

export const SECRETSTREAM_ABYTES = 17;
export const SECRETSTREAM_HEADERBYTES = 24;
export const SECRETSTREAM_KEYBYTES = 32;
export const SIGN_PUBLICKEYBYTES = 32;
export const SIGN_BYTES = 64;
export const BOX_PUBLICKEYBYTES = 32;
export const BOX_SEALBYTES = 48;
export const SECRETBOX_NONCEBYTES = 24;
export const PWHASH_SALTBYTES = 16;

export function authFailed(what: string): VigilError {
  return new VigilError('E_CRYPTO_AUTH', `${what}: authentication failed`);
}

let active: CryptoBackend | undefined;
let loading: Promise<CryptoBackend> | undefined;

/** Installs a backend (the appliance calls this with the native one before anything else). */
export function useCryptoBackend(backend: CryptoBackend): void {
  active = backend;
}

/** The active backend. Call `initCrypto()` once at start-up first. */
export function crypto(): CryptoBackend {
  if (!active) throw new VigilError('E_CRYPTO_NOT_READY', 'crypto backend not initialised: await initCrypto() first');
  return active;
}

/** Loads the wasm backend unless one is already installed. Idempotent. */
export function initCrypto(): Promise<CryptoBackend> {
  if (active) return Promise.resolve(active);
  loading ??= import('./wasm-backend.ts').then(async (m) => {
    const backend = await m.loadWasmBackend();
    active ??= backend;
    return active;
  });
  return loading;
}
