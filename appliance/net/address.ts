/**
 * Source addresses as one key per host, for counting connections by where they come from. An IPv4 client
 * reaching a dual-stack listener appears as `::ffff:a.b.c.d`; that and every other spelling of the same
 * IPv6 address (leading zeros, upper case, `::` placement, a dotted tail) count as one key.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The canonical key for a socket's remote address: dotted IPv4, RFC 5952 IPv6 (zone kept), or 'unknown'. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  if (isIPv4(address)) return address;
  const percent = address.indexOf('%');
  const bare = percent < 0 ? address : address.slice(0, percent);
  const zone = percent < 0 ? '' : address.slice(percent).toLowerCase();
  if (!isIPv6(bare)) return address.toLowerCase();
  const g = ipv6Groups(bare);
  // ::ffff:0:0/96, IPv4-mapped: the IPv4 host itself.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff && !zone) {
    return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  }
  return compress(g) + zone;
}

/**
 * Whether a socket's remote address is this host (127.0.0.0/8 or ::1), in any spelling, IPv4-mapped
 * included. A name is never loopback here: sockets report addresses, and a name proves nothing.
 */
export function isLoopback(address: string | undefined): boolean {
  const a = normalizeAddress(address);
  if (isIPv4(a)) return a.startsWith('127.');
  return a === '::1';
}

/** The eight 16-bit groups of a valid IPv6 address (checked by the caller), dotted IPv4 tail included. */
function ipv6Groups(a: string): number[] {
  let s = a;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [p, q, r, t] = tail.split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, lastColon + 1)}${((p << 8) | q).toString(16)}:${((r << 8) | t).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const gap = s.indexOf('::');
  if (gap < 0) return parse(s);
  const head = parse(s.slice(0, gap));
  const rest = parse(s.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/** RFC 5952: lower-case hex without leading zeros, the longest run of two or more zero groups as `::`. */
function compress(g: number[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = g.map((n) => n.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}
