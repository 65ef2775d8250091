/**
 * Minimal, strict ustar reader: a bundle is a plain tar file, so auditors can also open it with standard
 * tools. Only regular files with safe relative names are accepted; every header checksum is verified;
 * sizes may use GNU base-256 encoding (archives over 8 GiB).
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

function checksumOk(h: Uint8Array): boolean {
  const stored = field(h, 148, 8).trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === parseInt(stored, 8);
}

export async function readTarIndex(src: ByteSource): Promise<TarMember[]> {
  const members: TarMember[] = [];
  const names = new Set<string>();
  let offset = 0;
  while (true) {
    if (offset + TAR_BLOCK > src.size) throw bad(members.length ? `truncated after ${members[members.length - 1]!.name}` : 'too short');
    const h = await src.read(offset, TAR_BLOCK);
    if (h.every((b) => b === 0)) {
      await expectZeros(src, offset, src.size - offset, 'after the end-of-archive marker');
      return members;
    }
    if (!checksumOk(h)) throw bad(`header checksum mismatch at offset ${offset}`);
    const type = h[156]!;
    const prefix = field(h, 345, 155);
    const name = (prefix ? prefix + '/' : '') + field(h, 0, 100);
    if (type !== 0x30 && type !== 0) throw bad(`member ${JSON.stringify(name.slice(0, 100))} is not a regular file`);
    if (!SAFE_NAME.test(name) || name.length > 255) throw bad(`unsafe member name ${JSON.stringify(name.slice(0, 100))}`);
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
