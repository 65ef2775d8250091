/**
 * The archives' hash chain (chain = SHA-256(chain ‖ SHA-256(frame record)), archive-format.ts), computed on
 * a worker thread so that hashing does not run on the thread that encrypts — the gateway's event loop.
 * SHA-256 of every record costs about as much as encrypting it; off the loop, recording a bulk stream costs
 * the session thread only the encoding and the cipher.
 *
 * Records travel through a shared ring buffer (one producer: this thread; one consumer: the worker), not
 * postMessage: a message costs tens of µs, about as much as hashing the 64 KiB record it would carry. The
 * worker answers only the rare questions (a chain head at an anchor, at close) with a message.
 *
 * Ordering is the ring's: a `mark` entry put right after a writer's frame N makes the worker remember the
 * head after exactly N frames, so an anchor can later ask for it (the head of what is durable, not of what
 * was appended since). Back-pressure: when the ring is full (the worker is 8 MiB behind) the producer waits
 * for it, which bounds memory; it never drops or reorders a record.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { VigilError } from '../../shared/errors.ts';

const RING_BYTES = 8 * 1024 * 1024;
/** Entry head: kind, writer id, body length, argument (u32 each), file offset (f64), file descriptor (i32), pad. */
const HEAD = 32;
/** Records larger than this are hashed here and only their digest goes through the ring. */
const MAX_RING_RECORD = 1024 * 1024;
const KIND_PAD = 0;
const KIND_OPEN = 1;
const KIND_RECORD = 2;
const KIND_DIGEST = 3;
const KIND_MARK = 4;
const KIND_QUERY = 5;
const KIND_CLOSE = 6;
const KIND_BARRIER = 7;
/** Small records wake a sleeping worker once this much is waiting (see put()). */
const WAKE_BYTES = RING_BYTES / 4;
/** How long a full ring may stay full before the worker counts as dead. */
const STALL_MS = 30_000;

// Runs in the worker (plain JS, no imports from the repository: it works the same under tsx and bundled).
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
const ctl = new Int32Array(workerData.sab, 0, 4);
const data = new Uint8Array(workerData.sab, 64);
const view = new DataView(workerData.sab, 64);
const MASK = data.length - 1;
const states = new Map();
const step = (chain, digest) => createHash('sha256').update(chain).update(digest).digest();
let tail = Atomics.load(ctl, 1);
for (;;) {
  let head = Atomics.load(ctl, 0);
  if (head === tail) {
    // Say we sleep, then look again: a record put in between is seen here or ends the wait at once.
    Atomics.store(ctl, 2, 1);
    head = Atomics.load(ctl, 0);
    if (head === tail) Atomics.wait(ctl, 0, head, 1000);
    Atomics.store(ctl, 2, 0);
    continue;
  }
  while (tail !== head) {
    const pos = tail & MASK;
    const kind = view.getUint32(pos, true);
    // A pad fills the ring's end and can be as short as 16 bytes: read nothing of it but its kind.
    if (kind === 0) { tail = (tail + (data.length - pos)) | 0; continue; }
    const id = view.getUint32(pos + 4, true), len = view.getUint32(pos + 8, true), arg = view.getUint32(pos + 12, true);
    const offset = view.getFloat64(pos + 16, true), fd = view.getInt32(pos + 24, true);
    const body = data.subarray(pos + 32, pos + 32 + len);
    let s = states.get(id);
    if (kind === 1) { s = { chain: Buffer.from(body), frames: 0, marks: new Map() }; states.set(id, s); }
    else if (!s) { parentPort.postMessage({ kind: 'error', id, message: 'unknown writer ' + id }); }
    else if (kind === 2) {
      if (fd >= 0 && !s.failed) {
        try { let done = 0; while (done < len) done += writeSync(fd, body, done, len - done, offset + done); }
        catch (e) { s.failed = true; parentPort.postMessage({ kind: 'failed', id, message: String(e && e.message || e) }); }
      }
      s.chain = step(s.chain, createHash('sha256').update(body).digest()); s.frames++;
    }
    else if (kind === 3) { s.chain = step(s.chain, body); s.frames++; }
    else if (kind === 4) { s.marks.set(s.frames, s.chain); }
    else if (kind === 5 || kind === 6) {
      const chain = arg === s.frames ? s.chain : s.marks.get(arg);
      for (const k of s.marks.keys()) if (k <= arg) s.marks.delete(k);
      parentPort.postMessage({ kind: 'head', id, frames: arg, head: chain ? new Uint8Array(chain) : null, processed: s.frames });
      if (kind === 6) states.delete(id);
    }
    else if (kind === 7) { parentPort.postMessage({ kind: 'head', id, frames: s.frames, head: new Uint8Array(s.chain), processed: s.frames }); }
    tail = (tail + 32 + ((len + 15) & ~15)) | 0;
    Atomics.store(ctl, 1, tail);
    if (Atomics.load(ctl, 3) !== 0) Atomics.notify(ctl, 1); // the producer waits for space
  }
}
`;

interface PendingQuery {
  resolve: (head: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/** One worker for the process; every archive writer feeds it. */
class HasherThread {
  private readonly sab = new SharedArrayBuffer(64 + RING_BYTES);
  private readonly ctl = new Int32Array(this.sab, 0, 4);
  private readonly data = new Uint8Array(this.sab, 64);
  private readonly view = new DataView(this.sab, 64);
  private readonly worker: Worker;
  private head = 0;
  private nextId = 1;
  /** Per writer id, queries in the order asked (the worker answers each writer's in order). */
  private readonly queries = new Map<number, PendingQuery[]>();
  private outstanding = 0;
  failed: VigilError | undefined;
  /** Writers whose file write (done by the worker) failed. */
  readonly writeFailures = new Map<number, VigilError>();

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab: this.sab }, name: 'vigil-chain-hasher' });
    this.worker.unref();
    this.worker.on('message', (m: { kind: string; id: number; frames: number; head: Uint8Array | null; message?: string }) => {
      if (m.kind === 'failed') {
        this.writeFailures.set(m.id, new VigilError('E_RECORDING_FAILED', `cannot write the archive: ${m.message}`));
        return;
      }
      const list = this.queries.get(m.id);
      const q = list?.shift();
      if (!q) return;
      if (list!.length === 0) this.queries.delete(m.id);
      this.settled();
      if (m.kind === 'head' && m.head) q.resolve(m.head);
      else q.reject(new VigilError('E_RECORDING_FAILED', `the chain hasher has no head for frame ${m.frames} of writer ${m.id}${m.message ? `: ${m.message}` : ''}`));
    });
    const die = (e: unknown) => {
      this.failed ??= new VigilError('E_RECORDING_FAILED', `the evidence hashing thread stopped: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      for (const qs of this.queries.values()) for (const q of qs.splice(0)) q.reject(this.failed);
      this.outstanding = 0;
      if (current === this) current = undefined;
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`exit code ${code}`)));
  }

  open(headerDigest: Uint8Array): number {
    const id = this.nextId++;
    this.put(KIND_OPEN, id, 0, headerDigest);
    return id;
  }

  record(id: number, record: Uint8Array, file?: FileWrite): void {
    if (record.length > MAX_RING_RECORD) {
      if (file) writeAllAt(file.fd, record, file.offset);
      this.put(KIND_DIGEST, id, 0, createHash('sha256').update(record).digest());
    } else this.put(KIND_RECORD, id, 0, record, file);
  }

  mark(id: number): void {
    this.put(KIND_MARK, id, 0, EMPTY);
  }

  /** Drops a writer's state without an answer (an abandoned archive). */
  forget(id: number): void {
    if (!this.failed) this.put(KIND_CLOSE, id, 0, EMPTY);
  }

  /** The head after `frames` frames: the current one, or one marked earlier. `close` forgets the writer. */
  query(id: number, frames: number, kind: 'query' | 'close' | 'barrier' = 'query'): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      let list = this.queries.get(id);
      if (!list) this.queries.set(id, (list = []));
      list.push({ resolve, reject });
      if (this.outstanding++ === 0) this.worker.ref(); // keep the process alive for the answer
      try {
        this.put(kind === 'close' ? KIND_CLOSE : kind === 'barrier' ? KIND_BARRIER : KIND_QUERY, id, frames, EMPTY);
      } catch (e) {
        list.pop();
        this.settled();
        reject(e);
      }
    });
  }

  private settled(): void {
    if (--this.outstanding <= 0) {
      this.outstanding = 0;
      this.worker.unref();
    }
  }

  private put(kind: number, id: number, arg: number, body: Uint8Array, file?: FileWrite): void {
    if (this.failed) throw this.failed;
    const need = HEAD + ((body.length + 15) & ~15);
    let pos = this.head & (RING_BYTES - 1);
    const pad = RING_BYTES - pos < need ? RING_BYTES - pos : 0;
    this.waitForSpace(pad + need);
    if (pad) {
      this.view.setUint32(pos, KIND_PAD, true);
      this.head = (this.head + pad) | 0;
      pos = 0;
    }
    this.view.setUint32(pos, kind, true);
    this.view.setUint32(pos + 4, id, true);
    this.view.setUint32(pos + 8, body.length, true);
    this.view.setUint32(pos + 12, arg, true);
    this.view.setFloat64(pos + 16, file ? file.offset : 0, true);
    this.view.setInt32(pos + 24, file ? file.fd : -1, true);
    this.data.set(body, pos + HEAD);
    this.head = (this.head + need) | 0;
    Atomics.store(this.ctl, 0, this.head);
    // Wake the worker only if it sleeps, and only when it has something worth waking for: a question (somebody
    // awaits the answer), a record it must also write to a file, or a quarter of the ring. A wake-up is a futex
    // system call plus a thread switch; one per small record cost ≈ 20–50 µs per PostgreSQL statement under
    // pgbench (scripts/bench/pg-profile.ts). Small records left waiting are hashed at the next wake-up or when
    // the worker's own one-second nap ends; no answer depends on them before a question wakes it.
    if (Atomics.load(this.ctl, 2) === 0) {
      this.unwoken = 0;
      return;
    }
    this.unwoken += need;
    if (kind >= KIND_QUERY || file || this.unwoken >= WAKE_BYTES) {
      this.unwoken = 0;
      Atomics.notify(this.ctl, 0);
    }
  }

  /** Bytes put since the worker was last seen awake or woken. */
  private unwoken = 0;

  private waitForSpace(n: number): void {
    const deadline = Date.now() + STALL_MS;
    for (;;) {
      const tail = Atomics.load(this.ctl, 1);
      if (RING_BYTES - ((this.head - tail) >>> 0) >= n) return;
      // Back-pressure: the worker is a full ring behind. Waiting here bounds memory; it is rare (hashing is
      // faster than encrypting) and short.
      if (Date.now() > deadline) {
        this.failed ??= new VigilError('E_RECORDING_FAILED', 'the evidence hashing thread stopped consuming records');
        throw this.failed;
      }
      Atomics.store(this.ctl, 3, 1);
      Atomics.notify(this.ctl, 0); // a wake-up deferred to the end of this turn would come too late
      if (Atomics.load(this.ctl, 1) === tail) Atomics.wait(this.ctl, 1, tail, 100);
      Atomics.store(this.ctl, 3, 0);
    }
  }
}

const EMPTY = new Uint8Array(0);

/** Where the worker also writes a record (an archive file written directly, not through the journal). */
export interface FileWrite {
  fd: number;
  offset: number;
}

function writeAllAt(fd: number, b: Uint8Array, position: number): void {
  let done = 0;
  while (done < b.length) done += writeSync(fd, b, done, b.length - done, position + done);
}
let current: HasherThread | undefined;

/** One archive's chain, hashed off this thread. */
export class ChainHasher {
  private readonly thread: HasherThread;
  private readonly id: number;
  private frames = 0;
  private finished: Promise<Uint8Array> | undefined;

  constructor(readonly headerDigest: Uint8Array) {
    this.thread = current ??= new HasherThread();
    this.id = this.thread.open(headerDigest);
  }

  /**
   * Adds the next frame record (the bytes may be reused once this returns: they are copied). With `file`, the
   * worker also writes it there, before hashing it: barrier() then says it is written.
   */
  add(record: Uint8Array, file?: FileWrite): void {
    const failed = this.failure;
    if (failed) throw failed;
    this.thread.record(this.id, record, file);
    this.frames++;
  }

  /** Resolves once the worker has handled (written, hashed) every record added so far; rejects if a write failed. */
  async barrier(): Promise<void> {
    // After finish() the worker has forgotten this archive; its answer already covered every record.
    await (this.finished ?? this.thread.query(this.id, this.frames, 'barrier'));
    const failed = this.failure;
    if (failed) throw failed;
  }

  /** Remembers the head after the frames added so far; headAt(that count) can then be asked later. */
  mark(): number {
    this.thread.mark(this.id);
    return this.frames;
  }

  /** The head after `frames` frames: a count given by mark(), or the current count. */
  headAt(frames: number): Promise<Uint8Array> {
    if (frames === 0) return Promise.resolve(this.headerDigest);
    return this.thread.query(this.id, frames);
  }

  /** The final head (after every frame added); the worker then forgets this archive. */
  finish(): Promise<Uint8Array> {
    this.finished ??= this.thread.query(this.id, this.frames, 'close');
    return this.finished;
  }

  /** Forgets this archive without a final head (abandoned, as a crash would leave it). */
  abandon(): void {
    this.finished ??= this.barrier().then(() => {
      this.thread.forget(this.id);
      return this.headerDigest;
    });
    this.finished.catch(() => undefined);
  }

  /** The hashing thread's failure, if it stopped (recording must then fail closed). */
  get failure(): VigilError | undefined {
    return this.thread.failed ?? this.thread.writeFailures.get(this.id);
  }
}
