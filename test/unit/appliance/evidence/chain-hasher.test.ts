import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../../shared/bytes.ts';
import { sha256 } from '../../../../shared/crypto/hash.ts';
import { chainStep } from '../../../../shared/evidence/archive-format.ts';
import { ChainHasher } from '../../../../appliance/evidence/chain-hasher.ts';
import { tempDir } from '../../../helpers/evidence.ts';

const record = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

describe('the hash chain on the hashing thread', () => {
  it('is the chain the format defines (small records through the ring, a large one by digest), and a mark keeps its head', async () => {
    const header = sha256(new Uint8Array([1, 2, 3]));
    const h = new ChainHasher(header);
    let chain = header;
    const records = [record(100, 1), record(64 * 1024 + 22, 2), record(3 * 1024 * 1024, 3), record(17, 4)];
    for (const r of records.slice(0, 2)) {
      h.add(r);
      chain = chainStep(chain, sha256(r));
    }
    const marked = h.mark();
    const atMark = toHex(chain);
    for (const r of records.slice(2)) {
      h.add(r);
      chain = chainStep(chain, sha256(r));
    }
    expect(marked).toBe(2);
    // Asked after more frames were added, the head is still the one after exactly the marked frames.
    expect(toHex(await h.headAt(marked))).toBe(atMark);
    expect(toHex(await h.finish())).toBe(toHex(chain));
    expect(toHex(await h.headAt(0))).toBe(toHex(header));
  });

  it('many records wrap the ring (8 MiB) without losing or reordering one', async () => {
    const h = new ChainHasher(sha256(new Uint8Array(1)));
    let chain = sha256(new Uint8Array(1));
    for (let i = 0; i < 400; i++) {
      const r = record(50_000 + (i % 7) * 1000, i);
      h.add(r);
      chain = chainStep(chain, sha256(r));
    }
    expect(toHex(await h.finish())).toBe(toHex(chain));
  });

  it('writes records to the file at their offsets when asked, and barrier() means they are there', async () => {
    const dir = tempDir('vigil-hasher-');
    const path = join(dir, 'a.bin');
    const fd = openSync(path, 'w+');
    const h = new ChainHasher(sha256(new Uint8Array(2)));
    const a = record(1000, 5);
    const b = record(2000, 6);
    h.add(a, { fd, offset: 0 });
    h.add(b, { fd, offset: 1000 });
    await h.barrier();
    expect(Buffer.compare(readFileSync(path), Buffer.concat([a, b]))).toBe(0);
    await h.finish();
    closeSync(fd);
  });

  it('fails closed when the worker cannot write the file: barrier() rejects and the next record is refused', async () => {
    const dir = tempDir('vigil-hasher-');
    const path = join(dir, 'ro.bin');
    writeFileSync(path, '');
    const fd = openSync(path, 'r'); // writes to it fail (EBADF)
    const h = new ChainHasher(sha256(new Uint8Array(3)));
    h.add(record(500, 7), { fd, offset: 0 });
    await expect(h.barrier()).rejects.toMatchObject({ code: 'E_RECORDING_FAILED' });
    expect(() => h.add(record(10, 8), { fd, offset: 500 })).toThrow(/cannot write the archive/);
    closeSync(fd);
  });
});
