/** HOST:PORT in vigil.yaml and loopback checks: protocol-neutral, shared by every listener and the admin API. */
import { describe, expect, it } from 'vitest';
import { hostPort, splitAddress } from '../../../../appliance/net/host-port.ts';
import { isLoopback } from '../../../../appliance/net/address.ts';

describe('hostPort (listener addresses in vigil.yaml)', () => {
  it('accepts a host name, IPv4 or bracketed IPv6 with a port', () => {
    for (const a of ['127.0.0.1:6432', 'localhost:0', '[::1]:8443', '[fe80::1]:22', 'vigil.internal:65535']) expect(hostPort.safeParse(a).success, a).toBe(true);
  });

  it('refuses what is not HOST:PORT, with an example of what is', () => {
    for (const a of ['127.0.0.1', ':6432', '::1:6432', 'host:port', 'a b:1', '127.0.0.1:123456', '127.0.0.1:65536', '']) {
      const r = hostPort.safeParse(a);
      expect(r.success, a).toBe(false);
      expect(r.error?.issues[0]?.message).toBe('expected HOST:PORT, e.g. 127.0.0.1:6432');
    }
  });
});

describe('splitAddress', () => {
  it('splits at the last colon and unbrackets IPv6', () => {
    expect(splitAddress('127.0.0.1:6432')).toEqual(['127.0.0.1', 6432]);
    expect(splitAddress('[::1]:8443')).toEqual(['::1', 8443]);
    expect(splitAddress('[fe80::1:2]:22')).toEqual(['fe80::1:2', 22]);
    expect(splitAddress('localhost:0')).toEqual(['localhost', 0]);
  });
});

describe('isLoopback (client addresses as sockets report them)', () => {
  it('is true for 127.0.0.0/8 and ::1 in any spelling, IPv4-mapped included', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:7f00:1']) expect(isLoopback(a), a).toBe(true);
  });

  it('is false for every other address, for names and for garbage', () => {
    for (const a of ['10.0.0.1', '128.0.0.1', '::2', '::ffff:10.0.0.1', 'fe80::1', 'localhost', '127.0.0.1.evil', '', undefined]) expect(isLoopback(a), String(a)).toBe(false);
  });
});
