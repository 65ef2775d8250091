import { describe, expect, it } from 'vitest';
import { parseSourceAddressList, sourceAddressAllowed, type Cidr } from '../../../../appliance/protocols/ssh/source-address.ts';

function blocks(list: string): Cidr[] {
  const b = parseSourceAddressList(list);
  if (typeof b === 'string') throw new Error(b);
  return b;
}

describe('source-address lists (OpenSSH addr_match_cidr_list rules)', () => {
  it('matches IPv4 and IPv6 blocks, bare addresses as /32 and /128', () => {
    const b = blocks('192.168.0.0/16,10.1.2.3,2001:db8::/32,::1');
    for (const a of ['192.168.255.1', '10.1.2.3', '2001:db8:ffff::1', '::1', '0:0:0:0:0:0:0:1', '2001:0DB8::5']) expect(sourceAddressAllowed(a, b), a).toBe(true);
    for (const a of ['192.169.0.1', '10.1.2.4', '2001:db9::1', '::2', 'unknown', 'localhost', '', undefined]) expect(sourceAddressAllowed(a, b), String(a)).toBe(false);
  });

  it('IPv4-mapped IPv6 is the IPv4 address, on either side', () => {
    expect(sourceAddressAllowed('::ffff:10.0.0.7', blocks('10.0.0.0/24'))).toBe(true);
    expect(sourceAddressAllowed('::ffff:a00:7', blocks('10.0.0.0/24'))).toBe(true);
    expect(sourceAddressAllowed('10.0.0.7', blocks('::ffff:10.0.0.0/120'))).toBe(true);
    expect(sourceAddressAllowed('10.0.1.7', blocks('::ffff:10.0.0.0/120'))).toBe(false);
    // A mapped client never matches an IPv6 block that is not the mapped range.
    expect(sourceAddressAllowed('::ffff:10.0.0.7', blocks('::/1'))).toBe(false);
  });

  it('prefix edges: /0 matches the whole family only, odd prefixes compare bits', () => {
    expect(sourceAddressAllowed('203.0.113.9', blocks('0.0.0.0/0'))).toBe(true);
    expect(sourceAddressAllowed('2001:db8::1', blocks('0.0.0.0/0'))).toBe(false);
    expect(sourceAddressAllowed('10.0.0.127', blocks('10.0.0.0/25'))).toBe(true);
    expect(sourceAddressAllowed('10.0.0.128', blocks('10.0.0.0/25'))).toBe(false);
    expect(sourceAddressAllowed('fe80::1%eth0', blocks('fe80::/10'))).toBe(true);
  });

  it('refuses what OpenSSH refuses', () => {
    for (const bad of ['', '10.0.0.0/8,', '10.0.0.1/8', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/8 ', '*', 'host.example', '10.0.0.0/08x', 'fe80::1%eth0', '1.2.3', '0x7f000001'])
      expect(typeof parseSourceAddressList(bad), bad).toBe('string');
  });
});
