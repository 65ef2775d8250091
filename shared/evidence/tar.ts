/**
 * Minimal, strict POSIX ustar reader: a bundle is a plain tar file, so auditors can also open it with
 * standard tools, and exactly one reading of its bytes exists. Refused, with the reason: a length that is not
 * whole 512-byte blocks, a header without the POSIX `ustar\0` `00` magic (GNU and pre-POSIX dialects), any
 * type but a regular file `0`, unsafe names, bad checksums, non-zero padding, and an end-of-archive marker
 * shorter than two zero blocks. Sizes of 8 GiB and more use GNU base-256 encoding (the one extension kept).
 */
import { VigilError } from '../errors.ts';
import type { ByteSource } from './byte-source.ts';

export interface TarMember {
  name: string;
  /** Offset of the member's content within the tar. */
  offset: number;
  size: number;
}

export const TAR_BLOCK = 512;
export const TAR_MAX_MEMBERS = 1_000_000;
const SAFE_NAME = /^(?!.*\.\.)[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

function bad(message: string): VigilError {
  return new VigilError('E_BUNDLE_FORMAT', `not a valid Vigil bundle: ${message}`);
}

function field(h: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && h[end] !== 0) end++;
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(h[i]!);
  return s;
}

export function parseTarSize(h: Uint8Array): number {
  if (h[124]! & 0x80) {
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + h[i]!;
    if ((h[124]! & 0x7f) !== 0 || !Number.isSafeInteger(n)) throw bad('member size out of range');
    return n;
  }
  const s = field(h, 124, 12).trim();
  if (!/^[0-7]+$/.test(s)) throw bad('member size is not octal');
  return parseInt(s, 8);
}

/** The checksum field is exactly six octal digits, NUL, space (as POSIX tools write it): no byte is unread. */
function checksumOk(h: Uint8Array): boolean {
  const stored = field(h, 148, 6);
  if (!/^[0-7]{6}$/.test(stored) || h[154] !== 0 || h[155] !== 32) return false;
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === parseInt(stored, 8);
}

/** Bytes 257–264 of a header: POSIX writes `ustar\0` then version `00`; GNU tar writes `ustar  \0`. */
const POSIX_MAGIC = [...'ustar'].map((c) => c.charCodeAt(0)).concat([0, 0x30, 0x30]);
const GNU_MAGIC = [...'ustar  '].map((c) => c.charCodeAt(0)).concat([0]);

function dialect(h: Uint8Array): 'posix' | 'gnu' | 'none' {
  const at = (m: number[]): boolean => m.every((b, i) => h[257 + i] === b);
  return at(POSIX_MAGIC) ? 'posix' : at(GNU_MAGIC) ? 'gnu' : 'none';
}

export async function readTarIndex(src: ByteSource): Promise<TarMember[]> {
  if (src.size < TAR_BLOCK) throw bad('too short');
  // A file that is no tar at all is named as such before its length is held against it.
  const first = await src.read(0, TAR_BLOCK);
  if (!first.every((b) => b === 0) && !checksumOk(first)) throw bad('header checksum mismatch at offset 0 (not a tar file)');
  if (src.size % TAR_BLOCK !== 0) {
    throw bad(`the file is ${src.size} bytes, not a whole number of ${TAR_BLOCK}-byte tar blocks (truncated or appended to)`);
  }
  const members: TarMember[] = [];
  const names = new Set<string>();
  let offset = 0;
  while (true) {
    if (offset + TAR_BLOCK > src.size) throw bad(members.length ? `truncated after ${members[members.length - 1]!.name}` : 'too short');
    const h = await src.read(offset, TAR_BLOCK);
    if (h.every((b) => b === 0)) {
      const zeroBlocks = (src.size - offset) / TAR_BLOCK;
      await expectZeros(src, offset, src.size - offset, 'after the end-of-archive marker');
      if (zeroBlocks < 2) throw bad(`the end-of-archive marker is ${zeroBlocks} zero block, 2 are required (truncated)`);
      return members;
    }
    if (!checksumOk(h)) throw bad(`header checksum mismatch at offset ${offset}`);
    const type = h[156]!;
    const prefix = field(h, 345, 155);
    const name = (prefix ? prefix + '/' : '') + field(h, 0, 100);
    const shown = JSON.stringify(name.slice(0, 100)).slice(1, -1);
    const kind = dialect(h);
    if (kind === 'gnu') throw bad(`member ${shown} is in GNU tar format, not POSIX ustar (re-pack with tar --format=ustar)`);
    if (kind === 'none') throw bad(`member ${shown} has no ustar magic (a pre-POSIX or foreign tar)`);
    if (type !== 0x30) throw bad(`member ${shown} is not a regular file (type 0x${type.toString(16).padStart(2, '0')})`);
    if (!SAFE_NAME.test(name) || name.length > 255) throw bad(`unsafe member name "${shown}"`);
    if (names.has(name)) throw bad(`member ${name} appears twice`);
    const size = parseTarSize(h);
    const content = offset + TAR_BLOCK;
    if (content + size > src.size) throw bad(`member ${name} claims ${size} bytes, beyond the end of the file`);
    members.push({ name, offset: content, size });
    names.add(name);
    if (members.length > TAR_MAX_MEMBERS) throw bad('too many members');
    offset = content + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
    // Padding carries no data: require zeros so that not even an unused byte of a bundle can change.
    await expectZeros(src, content + size, Math.min(offset, src.size) - content - size, `in the padding after ${name}`);
  }
}

async function expectZeros(src: ByteSource, offset: number, length: number, where: string): Promise<void> {
  for (let o = 0; o < length; o += 1 << 20) {
    const chunk = await src.read(offset + o, Math.min(1 << 20, length - o));
    const i = chunk.findIndex((b) => b !== 0);
    if (i >= 0) throw bad(`unexpected data at offset ${offset + o + i} ${where}`);
  }
}
