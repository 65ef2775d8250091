/**
 * The ceiling for the viewer benchmark, run in the same browser as the viewer: raw libsodium-wasm
 * secretstream decryption of 64 KiB frames (nothing else), plus the two SHA-256 paths a verifier can use
 * (libsodium wasm, WebCrypto), and the per-stage cost breakdown (viewer-stages.ts). Bundled by scripts/bench/viewer.ts with esbuild; not part of the viewer.
 */
import { useCryptoBackend } from '../../shared/crypto/backend.ts';
import { loadWasmBackend } from '../../shared/crypto/wasm-backend.ts';
import { measureStages } from './viewer-stages.ts';

declare const self: { postMessage(m: unknown): void; onmessage: ((ev: { data: { mib: number } }) => void) | null };
declare const crypto: { subtle: { digest(a: string, d: Uint8Array): Promise<ArrayBuffer> } };

self.onmessage = async (ev) => {
  const c = await loadWasmBackend();
  useCryptoBackend(c);
  const frames = ev.data.mib * 16;
  const plain = new Uint8Array(64 * 1024).map((_, i) => 32 + ((i * 7) % 90));
  const ad = new Uint8Array(40);
  const key = c.secretstreamKeygen();
  const { header, stream } = c.secretstreamInitPush(key);
  const cts: Uint8Array[] = [];
  for (let i = 0; i < frames; i++) cts.push(stream.push(plain, ad, i === frames - 1));
  const rate = (t0: number) => ev.data.mib / ((performance.now() - t0) / 1000);
  let best = 0;
  for (let run = 0; run < 2; run++) {
    const pull = c.secretstreamInitPull(key, header);
    const t0 = performance.now();
    for (const ct of cts) pull.pull(ct, ad);
    best = Math.max(best, rate(t0));
  }
  let t0 = performance.now();
  for (const ct of cts) c.sha256(ct);
  const sodiumSha = rate(t0);
  t0 = performance.now();
  for (const ct of cts) await crypto.subtle.digest('SHA-256', ct);
  const webSha = rate(t0);
  const stages = await measureStages(Math.min(64, ev.data.mib));
  self.postMessage({ secretstream: best, sodiumSha256: sodiumSha, webcryptoSha256: webSha, stages });
};
