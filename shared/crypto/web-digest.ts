/**
 * SHA-256 through WebCrypto (Node ≥ 20 and browsers both have `crypto.subtle`): asynchronous, and in a
 * browser computed on another thread — the viewer's verifier hashes frames this way while it decrypts.
 * Same bytes as the backend's sha256 (a test checks it).
 */
export async function webCryptoSha256(...parts: readonly Uint8Array[]): Promise<Uint8Array> {
  // digest() copies its input when called: a single part needs no copy of ours.
  if (parts.length === 1) return new Uint8Array(await crypto.subtle.digest('SHA-256', parts[0]! as Uint8Array<ArrayBuffer>));
  let n = 0;
  for (const p of parts) n += p.length;
  const buf = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    buf.set(p, o);
    o += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}
