/**
 * The bundle container is strict (docs/evidence-format.md §7): a malformed tar is fatal with its reason,
 * and every member is one that bundle.json accounts for, in the order the exporter writes. A bundle made
 * by the real exporter, then cut, re-packed with GNU tar, or given members of its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../shared/bytes.ts';
import { TAR_BLOCK } from '../../shared/evidence/tar.ts';
import type { EventInput } from '../../appliance/evidence/archive-writer.ts';
import { TarWriter } from '../../appliance/export/tar-writer.ts';
import { failures, memberBytes, members, recordedBundle, tempDir, verifyBytes, type TestAppliance } from '../helpers/evidence.ts';

let A: TestAppliance;
let bundle: Uint8Array;
let names: string[];

beforeAll(async () => {
  const select = (): EventInput[] => [
    { type: 'command', id: 1, kind: 'sql', text: 'SELECT 1' },
    { type: 'decision', command: 1, decision: 'allow', rule: 'r' },
  ];
  ({ appliance: A, bundle } = await recordedBundle([{ subject: 'bot-a', events: select() }, { subject: 'bot-b', events: select() }]));
  names = (await members(bundle)).map((m) => m.name);
});

async function fatalOf(b: Uint8Array): Promise<string | undefined> {
  const r = await verifyBytes(b, A.trust, A.auditor);
  if (r.fatal) {
    // A fatal container error claims nothing: no check passes and no session stands.
    expect(r.ok).toBe(false);
    expect(r.sessions).toEqual([]);
    expect(r.checks.filter((c) => c.status === 'pass')).toEqual([]);
  }
  return r.fatal;
}

/** Packs members, in the given order, with the project's own tar writer. */
async function pack(entries: readonly (readonly [string, Uint8Array])[]): Promise<Uint8Array> {
  const path = join(tempDir(), 'b.vigil');
  const tar = new TarWriter(path);
  for (const [name, data] of entries) tar.addBytes(name, data);
  tar.finish();
  return new Uint8Array(readFileSync(path));
}

async function original(): Promise<[string, Uint8Array][]> {
  return Promise.all(names.map(async (n) => [n, await memberBytes(bundle, n)] as [string, Uint8Array]));
}

/** Rewrites one header field and its checksum, as a tool producing another tar dialect would. */
function patchHeader(b: Uint8Array, headerOffset: number, at: number, bytes: readonly number[]): Uint8Array {
  const out = b.slice();
  const h = out.subarray(headerOffset, headerOffset + TAR_BLOCK);
  h.set(bytes, at);
  h.fill(32, 148, 156);
  const sum = h.reduce((n, x) => n + x, 0);
  h.set(utf8(sum.toString(8).padStart(6, '0')), 148);
  h[154] = 0;
  h[155] = 32;
  return out;
}

describe('the container', () => {
  it('the exporter\'s bundle verifies, and so does the same bundle re-packed by POSIX tar in the same order', async () => {
    expect(failures(await verifyBytes(bundle, A.trust, A.auditor))).toEqual([]);
    const dir = tempDir();
    for (const [name, data] of await original()) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    const repacked = join(dir, 'repacked.vigil');
    execFileSync('tar', ['--format=ustar', '-cf', repacked, '-C', dir, ...names]);
    const r = await verifyBytes(new Uint8Array(readFileSync(repacked)), A.trust, A.auditor);
    expect(failures(r)).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('a bundle that lost its last byte is not a whole number of blocks', async () => {
    expect(await fatalOf(bundle.subarray(0, bundle.length - 1))).toMatch(/not a valid Vigil bundle: .* not a whole number of 512-byte tar blocks/);
  });

  it('a bundle with one end-of-archive block instead of two is refused', async () => {
    expect(await fatalOf(bundle.subarray(0, bundle.length - TAR_BLOCK))).toMatch(/not a valid Vigil bundle: the end-of-archive marker is 1 zero block, 2 are required/);
  });

  it('more zero blocks after the marker (a tar record\'s padding) are fine; data there is not', async () => {
    const padded = new Uint8Array(bundle.length + 8 * TAR_BLOCK);
    padded.set(bundle);
    expect(await fatalOf(padded)).toBeUndefined();
    padded[padded.length - 3] = 1;
    expect(await fatalOf(padded)).toMatch(/unexpected data at offset \d+ after the end-of-archive marker/);
  });

  it('a GNU-format tar (GNU tar\'s default dialect) is refused by name', async () => {
    const dir = tempDir();
    for (const [name, data] of await original()) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    execFileSync('tar', ['--format=gnu', '-cf', join(dir, 'gnu.vigil'), '-C', dir, ...names]);
    expect(await fatalOf(new Uint8Array(readFileSync(join(dir, 'gnu.vigil'))))).toMatch(/not a valid Vigil bundle: member bundle.json is in GNU tar format, not POSIX ustar/);
    // The same in one header only, deep in the file.
    const last = (await members(bundle)).at(-1)!;
    const gnu = patchHeader(bundle, last.offset - TAR_BLOCK, 257, [...utf8('ustar  '), 0]);
    expect(await fatalOf(gnu)).toMatch(new RegExp(`member ${last.name.replace(/[.]/g, '\\.')} is in GNU tar format`));
  });

  it('the checksum field is six octal digits, NUL, space: its last bytes are not free to change', async () => {
    for (const [at, byte] of [[155, 0x09], [154, 0x20], [155, 0x00]] as const) {
      const b = bundle.slice();
      b[at] = byte;
      expect(await fatalOf(b), `byte ${at} = ${byte}`).toMatch(/not a valid Vigil bundle: header checksum mismatch at offset 0/);
    }
  });

  it('a header without the ustar magic, or with a pre-POSIX regular-file type, is refused', async () => {
    expect(await fatalOf(patchHeader(bundle, 0, 257, [0, 0, 0, 0, 0, 0, 0, 0]))).toMatch(/member bundle.json has no ustar magic/);
    expect(await fatalOf(patchHeader(bundle, 0, 156, [0]))).toMatch(/member bundle.json is not a regular file \(type 0x00\)/);
  });
});

describe('the members', () => {
  it('a member bundle.json does not list is fatal, wherever it is', async () => {
    const entries = await original();
    expect(await fatalOf(await pack([...entries, ['notes.txt', utf8('hello')]]))).toMatch(/not a valid Vigil bundle: member notes.txt is not listed in bundle.json/);
    // A second copy of an archive under another name: same bytes, unlisted.
    const archive = entries.find(([n]) => n.startsWith('archives/'))!;
    const copy: [string, Uint8Array] = ['archives/00000099-copy.vsa', archive[1]];
    expect(await fatalOf(await pack([...entries.slice(0, 6), copy, ...entries.slice(6)]))).toMatch(/member archives\/00000099-copy\.vsa is not listed in bundle\.json/);
  });

  it('a member that appears twice is fatal, named (a fixed member or an archive, same bytes or not)', async () => {
    const entries = await original();
    expect(await fatalOf(await pack([...entries, entries[0]!]))).toMatch(/not a valid Vigil bundle: member bundle\.json appears twice/);
    const archive = entries.find(([n]) => n.startsWith('archives/'))!;
    const i = entries.indexOf(archive);
    expect(await fatalOf(await pack([...entries.slice(0, i + 1), archive, ...entries.slice(i + 1)]))).toMatch(new RegExp(`member ${archive[0].replace(/[.]/g, '\\.')} appears twice`));
  });

  it('members out of the exporter\'s order are fatal, with the member named', async () => {
    const entries = await original();
    const swapped = [entries[1]!, entries[0]!, ...entries.slice(2)];
    expect(await fatalOf(await pack(swapped))).toMatch(/not a valid Vigil bundle: member bundle\.json is out of order: it must come before checkpoint\.json \(the order is bundle\.json, checkpoint\.json, keys\/rotations\.json/);
    const archives = entries.filter(([n]) => n.startsWith('archives/'));
    expect(archives.length).toBe(2);
    const reversed = [...entries.filter(([n]) => !n.startsWith('archives/')), archives[1]!, archives[0]!];
    expect(await fatalOf(await pack(reversed))).toMatch(/member archives\/00000001-\S+ is out of order: it must come before archives\/00000002-/);
  });

  it('a fixed member that is missing is fatal; a listed archive that is missing is reported, not fatal', async () => {
    const entries = await original();
    expect(await fatalOf(await pack(entries.filter(([n]) => n !== 'log/consistency.json')))).toMatch(/log\/consistency\.json is missing/);
    const withoutArchive = entries.filter(([n]) => n !== names.find((x) => x.startsWith('archives/')));
    const r = await verifyBytes(await pack(withoutArchive), A.trust, A.auditor);
    expect(r.fatal).toBeUndefined();
    expect(failures(r).join('\n')).toMatch(/listed in the signed bundle manifest but missing from the bundle/);
  });
});
