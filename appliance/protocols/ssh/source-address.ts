/**
 * The `source-address` critical option: a comma-separated list of addresses and CIDR blocks, parsed with
 * OpenSSH's rules (addr_match_cidr_list): only hex digits, '.', ':' and '/'; no empty entry; a mask length
 * within the family's range; no host bits set beyond the mask ("10.0.0.1/8" is refused, as ssh-keygen does).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d), on either side, is treated as the IPv4 address it carries, so an IPv4
 * client reaching a dual-stack listener matches an IPv4 block.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { normalizeAddress } from '../../net/address.ts';

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
  /** The entry as written in the certificate. */
  text: string;
}

const CIDR_CHARS = /^[0-9a-fA-F.:/]+$/;
/** INET6_ADDRSTRLEN + 3, OpenSSH's limit on one entry. */
const MAX_ENTRY = 49;

function ipv4Bytes(a: string): Uint8Array {
  return Uint8Array.from(a.split('.').map(Number));
}

/** The 16 bytes of a valid IPv6 address (dotted IPv4 tail included). */
function ipv6Bytes(a: string): Uint8Array {
  let s = a;
  const last = s.lastIndexOf(':');
  const tail = s.slice(last + 1);
  if (tail.includes('.')) {
    const [p, q, r, t] = tail.split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, last + 1)}${((p << 8) | q).toString(16)}:${((r << 8) | t).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const gap = s.indexOf('::');
  let groups: number[];
  if (gap < 0) groups = parse(s);
  else {
    const head = parse(s.slice(0, gap));
    const rest = parse(s.slice(gap + 2));
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function hostBitsZero(bytes: Uint8Array, prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return false;
  return true;
}

/** Parses the list, or returns a sentence saying what is wrong with it. */
export function parseSourceAddressList(list: string): Cidr[] | string {
  const out: Cidr[] = [];
  for (const text of list.split(',')) {
    if (text === '') return 'an empty entry';
    if (text.length > MAX_ENTRY) return `an entry longer than ${MAX_ENTRY} characters`;
    if (!CIDR_CHARS.test(text)) return `${JSON.stringify(text.slice(0, MAX_ENTRY))} has characters other than hex digits, '.', ':' and '/'`;
    const slash = text.indexOf('/');
    const addr = slash < 0 ? text : text.slice(0, slash);
    const maskText = slash < 0 ? undefined : text.slice(slash + 1);
    let family: 4 | 6;
    let bytes: Uint8Array;
    if (isIPv4(addr)) [family, bytes] = [4, ipv4Bytes(addr)];
    else if (isIPv6(addr)) [family, bytes] = [6, ipv6Bytes(addr)];
    else return `${JSON.stringify(text)} is not an address`;
    const max = family === 4 ? 32 : 128;
    if (maskText !== undefined && !/^\d{1,3}$/.test(maskText)) return `${JSON.stringify(text)} has a bad mask length`;
    let prefix = maskText === undefined ? max : Number(maskText);
    if (prefix > max) return `${JSON.stringify(text)} has a mask longer than ${max}`;
    if (!hostBitsZero(bytes, prefix)) return `${JSON.stringify(text)} has host bits set beyond its mask`;
    if (family === 6 && isMapped(bytes) && prefix >= 96) [family, bytes, prefix] = [4, bytes.subarray(12), prefix - 96];
    out.push({ family, bytes, prefix, text });
  }
  return out;
}

function inBlock(bytes: Uint8Array, c: Cidr): boolean {
  for (let bit = 0; bit < c.prefix; bit++) {
    const mask = 1 << (7 - (bit & 7));
    if ((bytes[bit >> 3]! & mask) !== (c.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

/**
 * Whether a socket's remote address falls in one of the blocks. The address is normalised first (mapped
 * IPv6 → IPv4); a zone index (fe80::1%eth0) is dropped, as a block has none. Anything that is not an IP
 * address (undefined, 'unknown', a name) matches nothing.
 */
export function sourceAddressAllowed(clientAddress: string | undefined, blocks: readonly Cidr[]): boolean {
  let a = normalizeAddress(clientAddress);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  let family: 4 | 6;
  let bytes: Uint8Array;
  if (isIPv4(a)) [family, bytes] = [4, ipv4Bytes(a)];
  else if (isIPv6(a)) [family, bytes] = [6, ipv6Bytes(a)];
  else return false;
  return blocks.some((c) => c.family === family && inBlock(bytes, c));
}
