/** TypedKeys: held keyword bytes that only echo the client's own keys are released at once. */
import { describe, expect, it } from 'vitest';
import { TypedKeys } from '../../../../../appliance/protocols/ssh/masked-relay.ts';

describe('TypedKeys', () => {
  it('recognises the echo of the last keys typed, and nothing the client did not type', () => {
    const k = new TypedKeys();
    expect(k.echoes(Buffer.from('c'))).toBe(false);
    k.typed(Buffer.from('ec'));
    expect(k.echoes(Buffer.from('c'))).toBe(true);
    expect(k.echoes(Buffer.from('ec'))).toBe(true);
    expect(k.echoes(Buffer.from('cvv'))).toBe(false);
    expect(k.echoes(Buffer.alloc(0))).toBe(false);
  });

  it('keeps only the last 64 bytes typed', () => {
    const k = new TypedKeys();
    k.typed(Buffer.from('p'.repeat(100)));
    expect(k.echoes(Buffer.from('p'.repeat(64)))).toBe(true);
    expect(k.echoes(Buffer.from('p'.repeat(65)))).toBe(false);
  });
});
