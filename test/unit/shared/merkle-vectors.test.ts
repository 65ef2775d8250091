// Reference vectors of the Certificate Transparency test suite, as published in
// transparency-dev/merkle proof/verify_test.go (same values as google/certificate-transparency-go
// merkletree tests). Their inclusion vectors number leaves from 1; here they are 0-based.
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../../shared/bytes.ts';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../../shared/merkle/index.ts';

const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex);

/** Roots for tree sizes 1..8. */
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const EMPTY_ROOT = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SOME_HASH = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456');

const INCLUSION: { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CONSISTENCY: { oldSize: number; newSize: number; proof: string[] }[] = [
  { oldSize: 1, newSize: 1, proof: [] },
  {
    oldSize: 1,
    newSize: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    oldSize: 6,
    newSize: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    oldSize: 2,
    newSize: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    oldSize: 6,
    newSize: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const leafHashes = LEAVES.map(leafHash);
const root = (size: number) => fromHex(ROOTS[size - 1]!);
const oracle = (b: number, e: number) => rootFromLeafHashes(leafHashes.slice(b, e));

function flipped(proof: Uint8Array[], i: number, bit: number): Uint8Array[] {
  return proof.map((h, j) => {
    if (j !== i) return h;
    const c = h.slice();
    c[0]! ^= bit;
    return c;
  });
}

describe('RFC 6962 hashing', () => {
  it('hashes leaves with 0x00 and nodes with 0x01', () => {
    expect(toHex(leafHash(new Uint8Array(0)))).toBe(ROOTS[0]);
    expect(toHex(nodeHash(leafHashes[0]!, leafHashes[1]!))).toBe(ROOTS[1]);
  });

  it('the empty tree root is SHA-256 of the empty string', () => {
    expect(toHex(emptyRoot())).toBe(EMPTY_ROOT);
    expect(toHex(rootFromLeafHashes([]))).toBe(EMPTY_ROOT);
  });

  it('matches the reference root for every size 1..8', () => {
    for (let n = 1; n <= 8; n++) expect(toHex(rootFromLeafHashes(leafHashes.slice(0, n))), `size ${n}`).toBe(ROOTS[n - 1]);
  });
});

describe('reference inclusion proofs', () => {
  for (const v of INCLUSION) {
    const proof = v.proof.map(fromHex);
    const leaf = leafHashes[v.index]!;

    it(`leaf ${v.index} of ${v.size}: generated exactly, verifies`, () => {
      expect(inclusionProof(v.index, v.size, oracle).map(toHex)).toEqual(v.proof);
      expect(verifyInclusion(leaf, v.index, v.size, proof, root(v.size))).toBe(true);
    });

    // The corruption probes of transparency-dev/merkle's verifierCheck.
    it(`leaf ${v.index} of ${v.size}: every corruption is rejected`, () => {
      const r = root(v.size);
      const probes: [number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
        [v.index - 1, v.size, leaf, proof, r],
        [v.index + 1, v.size, leaf, proof, r],
        [v.index ^ 2, v.size, leaf, proof, r],
        [v.index, v.size * 2, leaf, proof, r],
        [v.index, Math.floor(v.size / 2), leaf, proof, r],
        [v.index, v.size, utf8('WrongLeaf'), proof, r],
        [v.index, v.size, SOME_HASH, proof, r],
        [v.index, v.size, leaf, proof, emptyRoot()],
        [v.index, v.size, leaf, proof, SOME_HASH],
        [v.index, v.size, leaf, [...proof, new Uint8Array(0)], r],
        [v.index, v.size, leaf, [...proof, r], r],
        [v.index, v.size, leaf, [new Uint8Array(0), ...proof], r],
        [v.index, v.size, leaf, [r, ...proof], r],
      ];
      for (let i = 0; i < proof.length; i++) probes.push([v.index, v.size, leaf, flipped(proof, i, 8), r]);
      if (proof.length > 0) probes.push([v.index, v.size, leaf, proof.slice(0, -1), r]);
      if (proof.length > 1) probes.push([v.index, v.size, leaf, [proof[0]!, SOME_HASH, ...proof.slice(1)], r]);
      for (const [index, size, l, p, rt] of probes) expect(verifyInclusion(l, index, size, p, rt)).toBe(false);
    });
  }

  it('rejects trees too small for the index and hashes of the wrong size', () => {
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [2, 1],
    ] as const) {
      expect(verifyInclusion(SOME_HASH, index, size, [], SOME_HASH)).toBe(false);
      expect(verifyInclusion(SOME_HASH, index, size, [], emptyRoot())).toBe(false);
    }
    const h = leafHash(utf8('data'));
    expect(verifyInclusion(h, 0, 1, [], h)).toBe(true);
    expect(verifyInclusion(h, 0, 1, [], new Uint8Array(0))).toBe(false);
    expect(verifyInclusion(new Uint8Array(0), 0, 1, [], h)).toBe(false);
    expect(verifyInclusion(new Uint8Array(0), 0, 1, [], new Uint8Array(0))).toBe(false);
  });
});

describe('reference consistency proofs', () => {
  for (const v of CONSISTENCY) {
    const proof = v.proof.map(fromHex);
    const r1 = root(v.oldSize);
    const r2 = root(v.newSize);

    it(`${v.oldSize} → ${v.newSize}: generated exactly, verifies`, () => {
      expect(consistencyProof(v.oldSize, v.newSize, oracle).map(toHex)).toEqual(v.proof);
      expect(verifyConsistency(v.oldSize, v.newSize, r1, r2, proof)).toBe(true);
    });

    if (proof.length === 0) continue;
    // The corruption probes of transparency-dev/merkle's verifierConsistencyCheck.
    it(`${v.oldSize} → ${v.newSize}: every corruption is rejected`, () => {
      const { oldSize: s1, newSize: s2 } = v;
      const wrong = utf8('WrongRoot');
      const probes: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        [s1 - 1, s2, r1, r2, proof],
        [s1 + 1, s2, r1, r2, proof],
        [s1 ^ 2, s2, r1, r2, proof],
        [s1, s2 * 2, r1, r2, proof],
        [s1, Math.floor(s2 / 2), r1, r2, proof],
        [s1, s2, wrong, r2, proof],
        [s1, s2, r1, wrong, proof],
        [s1, s2, r2, r1, proof],
        [s1, s2, r1, r2, []],
        [s1, s2, r1, r2, [...proof, new Uint8Array(0)]],
        [s1, s2, r1, r2, [...proof, r1]],
        [s1, s2, r1, r2, [...proof, r2]],
        [s1, s2, r1, r2, [new Uint8Array(0), ...proof]],
        [s1, s2, r1, r2, [r1, ...proof]],
        [s1, s2, r1, r2, [r2, ...proof]],
        [s1, s2, r1, r2, [proof[0]!, ...proof]],
        [s1, s2, r1, r2, proof.slice(0, -1)],
      ];
      for (let i = 0; i < proof.length; i++) probes.push([s1, s2, r1, r2, flipped(proof, i, 16)]);
      for (const [a, b, x, y, p] of probes) expect(verifyConsistency(a, b, x, y, p), `${a} ${b}`).toBe(false);
    });
  }

  it('handles the trivial sizes as RFC 9162 does', () => {
    const e = emptyRoot();
    const r1 = root(1);
    const r2 = root(2);
    // Equal sizes: empty proof and equal roots.
    expect(verifyConsistency(1, 1, r1, r1, [])).toBe(true);
    expect(verifyConsistency(1, 1, r1, r2, [])).toBe(false);
    expect(verifyConsistency(1, 1, r1, r1, [e])).toBe(false);
    expect(verifyConsistency(0, 0, e, e, [])).toBe(true);
    expect(verifyConsistency(0, 0, e, e, [e])).toBe(false);
    expect(verifyConsistency(0, 0, e, r1, [])).toBe(false);
    // From the empty tree: empty proof, and the old root must be the empty root.
    expect(verifyConsistency(0, 1, e, r1, [])).toBe(true);
    expect(verifyConsistency(0, 8, e, root(8), [])).toBe(true);
    expect(verifyConsistency(0, 1, e, r1, [e])).toBe(false);
    expect(verifyConsistency(0, 1, r1, r1, [])).toBe(false);
    // Time travel, missing proof, junk sizes.
    expect(verifyConsistency(1, 0, r1, e, [])).toBe(false);
    expect(verifyConsistency(2, 1, r2, r1, [])).toBe(false);
    expect(verifyConsistency(1, 2, r1, r2, [])).toBe(false);
    expect(verifyConsistency(-1, 2, r1, r2, [])).toBe(false);
    expect(verifyConsistency(1.5, 2, r1, r2, [])).toBe(false);
    expect(verifyConsistency(1, 2 ** 53, r1, r2, [])).toBe(false);
    expect(consistencyProof(0, 8, oracle)).toEqual([]);
    expect(consistencyProof(8, 8, oracle)).toEqual([]);
  });
});
