/**
 * The viewer benchmark's per-stage cost breakdown, run in a worker of the same browser (bundled into the
 * ceiling worker): frames shaped like the benchmark's bundle (batches of 16 KiB terminal `output` events,
 * ≈ 64 KiB per frame) go through each stage of an archive verification on their own, one thread, so each
 * stage's cost is its time per MiB of archive. Stages that run elsewhere (WebCrypto digests on the browser's
 * crypto threads) are timed as the verifier awaits them.
 */
import { crypto } from '../../shared/crypto/backend.ts';
import { webCryptoSha256 } from '../../shared/crypto/web-digest.ts';
import { chainStep, encodeRecord, frameAd, RECORD_FRAME } from '../../shared/evidence/archive-format.ts';
import { decodeEvents, EventEncoder, type EvidenceEvent } from '../../shared/evidence/events.ts';
import { rescanFrame } from '../../shared/evidence/verify/pan-rescan.ts';
import { StreamRescan } from '../../shared/evidence/verify/stream-rescan.ts';
import { findCardData, findSecurityCodesBytes } from '../../shared/pan/index.ts';
import { DigestBuilder } from '../../viewer/src/model/digest.ts';

export type StageTimes = Record<string, number>;

/** Milliseconds per MiB of archive for each stage. */
export async function measureStages(mib: number): Promise<StageTimes> {
  const c = crypto();
  const payload = new Uint8Array(16 * 1024).map((_, i) => 32 + ((i * 7) % 90));
  const enc = new EventEncoder();
  const key = c.secretstreamKeygen();
  const { header, stream } = c.secretstreamInitPush(key);
  const headerDigest = new Uint8Array(32).fill(7);
  const records: Uint8Array[] = [];
  let seq = 0;
  let total = 0;
  for (let f = 0; total < mib * 1024 * 1024; f++) {
    while (enc.byteLength < 64 * 1024) enc.add({ seq: seq++, t: seq, type: 'output', stream: 'pty', data: payload });
    const record = encodeRecord(RECORD_FRAME, stream.push(enc.view(), frameAd(headerDigest, f), false));
    enc.reset();
    records.push(record);
    total += record.length;
  }
  const perMiB = (t0: number) => (performance.now() - t0) / (total / 1024 / 1024);
  const out: StageTimes = {};
  const bodies = records.map((r) => r.subarray(5));
  // Each stage runs twice and keeps the faster: the first run of a stage also pays for compiling it.
  const stage = async (name: string, run: () => unknown): Promise<void> => {
    let best = Infinity;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      await run();
      best = Math.min(best, perMiB(t0));
    }
    out[name] = best;
  };

  let plains: Uint8Array[] = [];
  await stage('decrypt', () => {
    const pull = c.secretstreamInitPull(key, header);
    plains = bodies.map((b, i) => pull.pull(b, frameAd(headerDigest, i)).message);
  });
  let chain: Uint8Array = headerDigest;
  await stage('sha256_webcrypto', async () => {
    const pending: Promise<Uint8Array>[] = [];
    for (const r of records) {
      pending.push(webCryptoSha256(r));
      while (pending.length > 32) chain = chainStep(chain, await pending.shift()!);
    }
    for (const p of pending) chain = chainStep(chain, await p);
  });
  await stage('sha256_wasm', () => {
    for (const r of records) chain = chainStep(chain, c.sha256Parts([r.subarray(0, 5), r.subarray(5)]));
  });
  let frames: EvidenceEvent[][] = [];
  await stage('decode_events', () => (frames = plains.map((p) => decodeEvents(p))));
  let findings = 0;
  await stage('rescan_events', () => {
    for (let i = 0; i < frames.length; i++) findings += rescanFrame(plains[i]!, frames[i]!).length;
  });
  // rescan_events in parts: the normal-mode scan of the plaintext, the strict scan of each event's bytes,
  // and the keyword-anchored security codes in them.
  await stage('rescan_events.normal', () => {
    for (const p of plains) findings += findCardData(p).length;
  });
  await stage('rescan_events.strict', () => {
    for (const evs of frames) for (const e of evs) findings += findCardData(e.data!, { strict: true }).length;
  });
  await stage('rescan_events.codes', () => {
    for (const evs of frames) for (const e of evs) findings += findSecurityCodesBytes(e.data!).matches.length;
  });
  await stage('rescan_streams', () => {
    const streams = new StreamRescan();
    for (const evs of frames) findings += streams.add(evs).length;
  });
  let events = 0;
  await stage('session_digest', () => {
    const digest = new DigestBuilder('s');
    for (const evs of frames) digest.add(evs);
    events = digest.digest.events;
  });
  if (findings !== 0 || events !== seq) throw new Error('stage benchmark: unexpected findings or event count');
  return out;
}
