/**
 * Evidence-core benchmark. Prints ratios against baselines measured in the same run, then one JSON line.
 *
 *   write   archive writer (events → encrypted, hashed, signed file) vs raw secretstream over the same bytes
 *   verify  `vigil verify` on a ~1 GiB bundle, with the auditor key (decrypt + re-scan) and without
 *   pan     card-number scan over mostly-non-card text vs an indexOf-style scan of the same buffer
 *
 *   stream  the gateway's recording path for a bulk stream: 32 KiB chunks through the stream masker and into a
 *           session of a real appliance (evidence journal, durability fsync), yielding to the event loop
 *           between chunks as a relay does; MiB/s, and CPU ms per MiB of the event-loop thread and of the
 *           whole process (from /proc: robust to a busy machine, unlike MiB/s)
 *   stages  each pass the writer makes over the bytes, alone on one thread (µs per MiB), and the disk's
 *           sequential write bandwidth with fdatasync: the floor of any figure that includes making the
 *           archive durable
 *
 * Usage: node bin/run-ts.mjs scripts/bench/evidence.ts [--gib 1] [--write-mib 512]
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crypto, useCryptoBackend } from '../../shared/crypto/backend.ts';
import { loadWasmBackend } from '../../shared/crypto/wasm-backend.ts';
import { EventEncoder } from '../../shared/evidence/events.ts';
import { parseTrustFile } from '../../shared/evidence/trust.ts';
import { verifyBundle } from '../../shared/evidence/verify/verify-bundle.ts';
import { nativeBackend } from '../../appliance/crypto/native-backend.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { ArchiveWriter } from '../../appliance/evidence/archive-writer.ts';
import { openFileSource } from '../../appliance/evidence/file-source.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import { generateSigningKey } from '../../appliance/keys/signing-key.ts';
import { benchPanScan } from './pan-scan.ts';
import { MaskCounter } from '../../appliance/pipeline/masking.ts';
import { StreamMasker } from '../../appliance/pipeline/stream-masker.ts';
import { newBenchAppliance } from './bench-appliance.ts';
import { readFileSync } from 'node:fs';

useCryptoBackend(nativeBackend());
const { values } = parseArgs({ options: { gib: { type: 'string', default: '1' }, 'write-mib': { type: 'string', default: '512' } } });
const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
const payload = new Uint8Array(16 * 1024).map((_, i) => 32 + ((i * 7) % 90)); // terminal-like text

function best(runs: number, fn: () => number): number {
  let b = 0;
  for (let i = 0; i < runs; i++) b = Math.max(b, fn());
  return b;
}

/** CPU seconds used so far by this process (all threads) and by its main thread. */
function cpu(): { process: number; main: number } {
  const fields = (path: string) => readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  const sec = (f: string[]) => (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks
  return { process: sec(fields('/proc/self/stat')), main: sec(fields(`/proc/self/task/${process.pid}/stat`)) };
}

async function benchStream(totalMiB: number): Promise<{ mibS: number; mainMsPerMiB: number; processMsPerMiB: number }> {
  const A = newBenchAppliance(mkdtempSync(join(work, 'stream-')));
  const app = await Appliance.open(A.configPath);
  const rec = app.recorder.start({ protocol: 'ssh', identity: { subject: 'bench' }, target: { name: 'host' }, client: { address: '127.0.0.1:1' } });
  const masks = new MaskCounter();
  const masker = new StreamMasker((b, context) => masks.streamBytes(b, context));
  const chunk = Buffer.alloc(32 * 1024); // `head -c … /dev/zero`, as scripts/bench/ssh runs
  const chunks = (totalMiB * MiB) / chunk.length;
  const c0 = cpu();
  const t0 = performance.now();
  for (let i = 0; i < chunks; i++) {
    rec.record({ type: 'output', channel: 0, stream: 'stdout', data: masker.push(chunk) });
    await new Promise((r) => setImmediate(r)); // the next chunk arrives in a later event-loop turn
  }
  await rec.sync();
  const s = (performance.now() - t0) / 1000;
  const c1 = cpu();
  await rec.close('bench');
  await app.close();
  return { mibS: totalMiB / s, mainMsPerMiB: ((c1.main - c0.main) * 1000) / totalMiB, processMsPerMiB: ((c1.process - c0.process) * 1000) / totalMiB };
}

/** µs per MiB of each pass the writer makes, alone on this thread (best of 3), and the disk's bandwidth. */
function benchStages(totalMiB: number): Record<string, number> {
  const enc = new EventEncoder();
  for (let i = 0; enc.byteLength < 64 * 1024; i++) enc.add({ seq: i, t: i, type: 'output', stream: 'pty', data: payload });
  const frame = enc.take();
  const n = Math.ceil((totalMiB * MiB) / frame.length);
  const record = new Uint8Array(frame.length + 22);
  const usPerMiB = (fn: () => void) => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      fn();
      best = Math.min(best, performance.now() - t0);
    }
    return Math.round((best * 1000) / ((n * frame.length) / MiB));
  };
  const { stream } = crypto().secretstreamInitPush(crypto().secretstreamKeygen());
  const ad = new Uint8Array(40);
  const e2 = new EventEncoder();
  const out: Record<string, number> = {
    encode: usPerMiB(() => {
      for (let i = 0; i < (n * frame.length) / payload.length; i++) {
        e2.add({ seq: i, t: i, type: 'output', stream: 'pty', data: payload });
        if (e2.byteLength >= 64 * 1024) e2.reset();
      }
    }),
    encrypt: usPerMiB(() => {
      for (let i = 0; i < n; i++) stream.pushInto(record.subarray(5), frame, ad, false);
    }),
    sha256: usPerMiB(() => {
      for (let i = 0; i < n; i++) createHash('sha256').update(record).digest();
    }),
    crc32_journal: usPerMiB(() => {
      for (let i = 0; i < n; i++) crc32(record);
    }),
  };
  const path = join(work, 'stages.bin');
  const fd = openSync(path, 'w');
  out.write_page_cache = usPerMiB(() => {
    for (let i = 0; i < n; i++) writeSync(fd, record, 0, record.length, i * record.length);
  });
  closeSync(fd);
  rmSync(path);
  // The disk: sequential writes of the same size, then fdatasync (what a durable archive costs at least).
  const fd2 = openSync(path, 'w');
  const t0 = performance.now();
  for (let i = 0; i < n; i++) writeSync(fd2, record, 0, record.length, i * record.length);
  fdatasyncSync(fd2);
  out.disk_mib_s = Math.round((n * record.length) / MiB / ((performance.now() - t0) / 1000));
  closeSync(fd2);
  rmSync(path);
  return out;
}

async function benchWrite(totalMiB: number): Promise<{ writer: number; writerNoSync: number; raw: number; rawWasm: number; loopUs: number }> {
  const events = Math.ceil((totalMiB * MiB) / payload.length);
  const { key: signer } = generateSigningKey();
  const recipient = crypto().boxKeypair();
  // Baseline: the same frame plaintexts through raw secretstream, 64 KiB at a time, nothing else.
  const enc = new EventEncoder();
  for (let i = 0; enc.byteLength < 64 * 1024; i++) enc.add({ seq: i, t: i, type: 'output', stream: 'pty', data: payload });
  const frame = enc.take();
  const frames = Math.ceil((events * payload.length) / frame.length);
  const raw = best(3, () => {
    const { stream } = crypto().secretstreamInitPush(crypto().secretstreamKeygen());
    const ad = new Uint8Array(40);
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) stream.push(frame, ad, false);
    return (frames * frame.length) / MiB / ((performance.now() - t0) / 1000);
  });
  // The same bytes through libsodium-wrappers (the wasm build the viewer uses): "raw libsodium" as shipped.
  const wasm = await loadWasmBackend();
  const wasmFrames = Math.max(1, Math.floor(frames / 4));
  const rawWasm = best(2, () => {
    const { stream } = wasm.secretstreamInitPush(wasm.secretstreamKeygen());
    const ad = new Uint8Array(40);
    const t0 = performance.now();
    for (let i = 0; i < wasmFrames; i++) stream.push(frame, ad, false);
    return (wasmFrames * frame.length) / MiB / ((performance.now() - t0) / 1000);
  });
  let n = 0;
  let writer = 0;
  let writerNoSync = 0;
  let loopUs = Infinity;
  for (let run = 0; run < 3; run++) {
    const w = ArchiveWriter.create({
      path: join(work, `w${n++}.vsa`),
      sessionId: `bench-session-${n}`,
      sessionSeq: 1,
      applianceId: 'bench',
      signer: () => signer,
      recipients: [{ keyId: '0000000000000000', publicKey: recipient.publicKey }],
      context: { protocol: 'ssh', identity: null, target: null, client: null },
    });
    const t0 = performance.now();
    for (let i = 0; i < events; i++) w.append({ type: 'output', stream: 'pty', data: payload });
    w.flush();
    // The writer's own thread is free again here: hashing and file writes run on the hashing thread.
    loopUs = Math.min(loopUs, ((performance.now() - t0) * 1000) / ((events * payload.length) / MiB));
    await w.settled(); // the hashing thread has hashed and written every frame (to the page cache)
    const beforeClose = performance.now();
    await w.close('bench');
    const bytes = statSync(w.path).size;
    writer = Math.max(writer, bytes / MiB / ((performance.now() - t0) / 1000));
    writerNoSync = Math.max(writerNoSync, bytes / MiB / ((beforeClose - t0) / 1000));
    rmSync(w.path);
  }
  return { writer, writerNoSync, raw, rawWasm, loopUs };
}

async function benchVerify(gib: number): Promise<{ withKey: number; withoutKey: number; bytes: number }> {
  const A = newBenchAppliance(work);
  const app = await Appliance.open(A.configPath);
  const perSession = 128 * MiB;
  const sessions = Math.max(1, Math.round((gib * 1024 * MiB) / perSession));
  for (let s = 0; s < sessions; s++) {
    const rec = app.recorder.start({ protocol: 'ssh', identity: { subject: `bench-${s}` }, target: { name: 'host' }, client: { address: '127.0.0.1:1' } });
    for (let i = 0; i < perSession / payload.length; i++) rec.record({ type: 'output', stream: 'pty', data: payload });
    await rec.close('bench');
  }
  await app.close();
  const bundle = join(work, 'bench.vigil');
  const app2 = await Appliance.open(A.configPath);
  await exportBundle(app2, { out: bundle });
  await app2.close();
  rmSync(join(work, 'appliance', 'data', 'archives'), { recursive: true });
  const bytes = statSync(bundle).size;
  const trust = parseTrustFile(readFileSync(A.trustPath, 'utf8'));
  const run = async (withKey: boolean) => {
    const src = openFileSource(bundle);
    const t0 = performance.now();
    const r = await verifyBundle(src, trust, withKey ? { auditor: A.auditor } : {});
    const s = (performance.now() - t0) / 1000;
    src.close();
    if (!r.ok) throw new Error(`bench bundle failed verification: ${JSON.stringify(r.checks.filter((c) => c.status === 'fail'))}`);
    return bytes / MiB / s;
  };
  const withoutKey = Math.max(await run(false), await run(false));
  const withKey = Math.max(await run(true), await run(true));
  return { withKey, withoutKey, bytes };
}

try {
  const w = await benchWrite(Number(values['write-mib']));
  const ratio = w.writer / w.raw;
  console.log(`write:  archive writer ${w.writer.toFixed(0)} MiB/s (${w.writerNoSync.toFixed(0)} before the final fdatasync) vs raw secretstream ${w.raw.toFixed(0)} MiB/s (${crypto().name}) = ${ratio.toFixed(2)}x`);
  console.log(`        vs raw libsodium-wrappers (wasm) secretstream ${w.rawWasm.toFixed(0)} MiB/s = ${(w.writer / w.rawWasm).toFixed(2)}x`);
  const sr = await benchStream(256);
  console.log(`stream: gateway recording path ${sr.mibS.toFixed(0)} MiB/s; CPU per MiB: event-loop thread ${sr.mainMsPerMiB.toFixed(2)} ms, whole process ${sr.processMsPerMiB.toFixed(2)} ms`);
  const st = benchStages(256);
  const cpuSum = st.encode! + st.encrypt! + st.sha256! + st.write_page_cache!;
  console.log(`stages: µs per MiB alone on one thread — encode ${st.encode}, encrypt ${st.encrypt}, SHA-256 ${st.sha256}, page-cache write ${st.write_page_cache}, journal CRC-32 ${st.crc32_journal}; sum ${cpuSum}`);
  console.log(`        writer's own thread ${w.loopUs.toFixed(0)} µs per MiB (hashing and writing run on the hashing thread); disk ${st.disk_mib_s} MiB/s with fdatasync`);
  const noSyncRatio = w.writerNoSync / w.raw;
  console.log(`        writer before the final fdatasync = ${noSyncRatio.toFixed(2)}x raw secretstream; durable figure's floor: min(cipher, disk) = ${Math.min(w.raw, st.disk_mib_s!).toFixed(0)} MiB/s`);
  const v = await benchVerify(Number(values.gib));
  console.log(`verify: ${(v.bytes / 1024 / MiB).toFixed(2)} GiB bundle — with key ${v.withKey.toFixed(0)} MiB/s, without key ${v.withoutKey.toFixed(0)} MiB/s`);
  const p = benchPanScan();
  console.log(`pan:    ${p.pan_scan_mib_s.toFixed(0)} MiB/s vs indexOf ceiling ${p.indexof_mib_s.toFixed(0)} MiB/s = ${p.ratio.toFixed(2)}x`);
  console.log(
    JSON.stringify({
      bench: 'evidence',
      write_mib_s: round(w.writer),
      secretstream_mib_s: round(w.raw),
      write_ratio_vs_secretstream: round(ratio, 3),
      write_nosync_mib_s: round(w.writerNoSync),
      write_nosync_ratio_vs_secretstream: round(noSyncRatio, 3),
      write_ratio_vs_disk_bound: round(w.writer / Math.min(w.raw, st.disk_mib_s!), 3),
      writer_thread_us_per_mib: Math.round(w.loopUs),
      stage_us_per_mib: { encode: st.encode, encrypt: st.encrypt, sha256: st.sha256, write_page_cache: st.write_page_cache, crc32_journal: st.crc32_journal },
      disk_write_mib_s: st.disk_mib_s,
      stream_record_mib_s: round(sr.mibS),
      stream_record_main_cpu_ms_per_mib: round(sr.mainMsPerMiB, 2),
      stream_record_process_cpu_ms_per_mib: round(sr.processMsPerMiB, 2),
      secretstream_wasm_mib_s: round(w.rawWasm),
      write_ratio_vs_wasm_secretstream: round(w.writer / w.rawWasm, 3),
      verify_key_mib_s: round(v.withKey),
      verify_nokey_mib_s: round(v.withoutKey),
      verify_bundle_bytes: v.bytes,
      pan_scan_mib_s: round(p.pan_scan_mib_s),
      pan_indexof_mib_s: round(p.indexof_mib_s),
      pan_ratio_vs_indexof: round(p.ratio, 3),
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

function round(x: number, digits = 1): number {
  return Number(x.toFixed(digits));
}
