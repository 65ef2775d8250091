/** Shared pieces of the wire codec tests: seeded randomness, chunking, draining readers. */
import { expect } from 'vitest';
import { isVigilError } from '../../../../shared/errors.ts';

export { prng } from '../../../helpers/seeded-random.ts';

export const int = (rand: () => number, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

export function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** A string of mixed ASCII, Latin-1, CJK and astral characters, without NUL. */
export function randomText(rand: () => number, max = 40): string {
  const pool = ['a', 'Z', '0', ' ', ',', '=', "'", 'é', 'ß', '€', '漢', '😀', '\n', '$1'];
  let s = '';
  const n = int(rand, 0, max);
  for (let i = 0; i < n; i++) s += pool[int(rand, 0, pool.length - 1)];
  return s;
}

/** The stream cut into chunks of random sizes (1…maxChunk), as views of it. */
export function randomChunks(stream: Buffer, rand: () => number, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; ) {
    const n = int(rand, 1, maxChunk);
    out.push(stream.subarray(at, at + n));
    at += n;
  }
  return out;
}

export const byteByByte = (stream: Buffer): Buffer[] => Array.from(stream, (_, i) => stream.subarray(i, i + 1));

interface Reader<F> {
  push(chunk: Uint8Array): void;
  next(): F | undefined;
}

/** Pushes every chunk and collects every frame, as a socket handler would. */
export function drain<F>(reader: Reader<F>, chunks: readonly Buffer[]): F[] {
  const frames: F[] = [];
  for (const c of chunks) {
    reader.push(c);
    for (let f = reader.next(); f; f = reader.next()) frames.push(f);
  }
  return frames;
}

/** Asserts `fn` throws a VigilError with this code whose message matches. */
export function expectWireError(fn: () => unknown, code: string, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected an error').toBeDefined();
  expect(isVigilError(thrown, code), `expected ${code}, got ${String(thrown)}`).toBe(true);
  expect((thrown as Error).message).toMatch(message);
}
