/**
 * A record whose entry would not fit in the ring's last bytes is preceded by a pad entry. When the last entry
 * ends exactly 16 bytes before the ring's end, the pad is only 16 bytes long — shorter than an entry head — and
 * the hashing thread must read no more than its kind there (it read the whole head: "Offset is outside the
 * bounds of the DataView", the thread died, recording failed). Its own file: the ring is per process, and the
 * layout below counts from a fresh ring.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../../shared/bytes.ts';
import { sha256 } from '../../../../shared/crypto/hash.ts';
import { chainStep } from '../../../../shared/evidence/archive-format.ts';
import { ChainHasher } from '../../../../appliance/evidence/chain-hasher.ts';

const MiB = 1024 * 1024;
const RING = 8 * MiB;
const HEAD = 32;

describe('the ring end', () => {
  it('a 16-byte pad at the end of the ring is skipped, and the chain is the one the format defines', async () => {
    const header = sha256(new Uint8Array([9]));
    const h = new ChainHasher(header); // its open entry: head + 32-byte digest
    let at = HEAD + 32;
    let chain = header;
    const add = (len: number) => {
      const r = new Uint8Array(len).map((_, i) => (i * 7 + len) & 0xff);
      h.add(r);
      chain = chainStep(chain, sha256(r));
      at += HEAD + ((len + 15) & ~15);
    };
    for (let i = 0; i < 7; i++) add(MiB - HEAD);
    add(RING - 16 - at - HEAD);
    expect(at).toBe(RING - 16);
    add(100); // needs a pad of 16 bytes first
    add(200);
    expect(toHex(await h.finish())).toBe(toHex(chain));
  });
});
