import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DownloadWindow, ReadAheadBudget } from '../../../../appliance/protocols/ssh/sftp-download.ts';

/** A file served the way an SFTP server does: at most `max` bytes per READ, empty at the end. */
function served(file: Buffer, max = 1 << 20, fail?: (pos: number) => boolean) {
  const calls: { pos: number; len: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetch = async (pos: number, len: number) => {
    calls.push({ pos, len });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 1));
    inFlight--;
    if (fail?.(pos)) throw Object.assign(new Error('read failed'), { code: 4 });
    return file.subarray(pos, pos + Math.min(len, max));
  };
  return { fetch, calls, maxInFlight: () => maxInFlight };
}

async function readAll(w: DownloadWindow, size: number, step: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; ; off += step) {
    const r = await w.read(off, step);
    if (r.data.length === 0) break;
    parts.push(r.data);
  }
  return Buffer.concat(parts).subarray(0, size);
}

describe('the download window', () => {
  it('returns the file byte for byte to a sequential reader, with READs in flight ahead of it', async () => {
    const file = randomBytes(3_000_000);
    const s = served(file);
    const w = new DownloadWindow(s.fetch);
    expect((await readAll(w, file.length, 32_768)).equals(file)).toBe(true);
    expect(s.maxInFlight()).toBeGreaterThan(1);
  });

  it('copes with a server that answers fewer bytes than asked', async () => {
    const file = randomBytes(700_000);
    const s = served(file, 50_000);
    expect((await readAll(new DownloadWindow(s.fetch), file.length, 32_768)).equals(file)).toBe(true);
  });

  it('answers reads at random offsets with the right bytes', async () => {
    const file = randomBytes(1_000_000);
    const w = new DownloadWindow(served(file).fetch);
    for (const off of [900_000, 10, 500_000, 500_100, 0, 999_990]) {
      const r = await w.read(off, 4096);
      expect(r.data.equals(file.subarray(off, off + 4096))).toBe(true);
    }
    expect((await w.read(1_000_000, 10)).data.length).toBe(0);
  });

  it('flags the answer that holds any digit of a card number split across two reads', async () => {
    const file = Buffer.concat([Buffer.alloc(40_000, 'x'), Buffer.from(' 4111111111111111 '), Buffer.alloc(40_000, 'y')]);
    const w = new DownloadWindow(served(file).fetch);
    const first = await w.read(0, 40_006); // ends after "4111 11"
    expect(first.pan).toBe(true);
    const clean = new DownloadWindow(served(file).fetch);
    expect((await clean.read(0, 30_000)).pan).toBe(false);
  });

  it('a session-wide budget bounds the READs in flight over all its handles, and is given back', async () => {
    const file = randomBytes(3_000_000);
    const budget = new ReadAheadBudget(256 * 1024);
    let now = 0;
    let peak = 0;
    const fetch = async (pos: number, len: number) => {
      peak = Math.max(peak, ++now);
      await new Promise((r) => setTimeout(r, 1));
      now--;
      return file.subarray(pos, pos + len);
    };
    const [x, y] = await Promise.all([readAll(new DownloadWindow(fetch, budget), file.length, 32_768), readAll(new DownloadWindow(fetch, budget), file.length, 32_768)]);
    expect(x.equals(file) && y.equals(file)).toBe(true);
    // Two chunks of budget, plus the one READ each window may always have out.
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThan(1);
    expect(budget.used).toBe(0);
  });

  it('passes on a failed READ', async () => {
    const file = randomBytes(600_000);
    const w = new DownloadWindow(served(file, 1 << 20, (pos) => pos >= 262_144).fetch);
    await expect(readAll(w, file.length, 32_768)).rejects.toThrow('read failed');
  });
});
