import { describe, expect, it } from 'vitest';
import { KeyChain } from '../../../shared/evidence/key-chain.ts';
import { compareTimes } from '../../../shared/evidence/time-order.ts';
import type { TrustFile } from '../../../shared/evidence/trust.ts';
import { newAppliance } from '../../helpers/evidence.ts';

describe('time order', () => {
  it('orders times of different precision as times, not as strings', () => {
    expect(compareTimes('2026-12-02T10:00:00Z', '2026-12-02T10:00:00.500Z')).toBeLessThan(0);
    expect(compareTimes('2026-12-02T10:00:00.5Z', '2026-12-02T10:00:00.500000Z')).toBe(0);
    expect(compareTimes('2026-12-02T10:00:01Z', '2026-12-02T10:00:00.999999Z')).toBeGreaterThan(0);
    expect(compareTimes('2026-12-02T10:00:00.123Z', '2026-12-02T10:00:00.123Z')).toBe(0);
  });

  it('a trust file whose validFrom has no fraction does not refuse a signature made half a second later', () => {
    const { trust } = newAppliance();
    const key = trust.keys[0]!;
    const edited: TrustFile = { ...trust, keys: [{ ...key, validFrom: '2026-01-01T00:00:10Z' }] };
    const chain = new KeyChain(edited, []);
    expect(chain.resolve(key.keyId, '2026-01-01T00:00:10.500Z').ok).toBe(true);
    expect(chain.resolve(key.keyId, '2026-01-01T00:00:09.999Z').ok).toBe(false);
  });
});
