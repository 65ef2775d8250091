/** The policy's `limits` block: defaults (idle 900 s, PCI DSS 8.2.8; no maximum), integers, known keys only. */
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../../../appliance/config/schema.ts';
import { DEFAULT_IDLE_SECONDS } from '../../../../appliance/policy/config.ts';

const base = { name: 'p', match: { subjects: ['repo:acme/*'] }, targets: ['payments'] };

describe('policy limits', () => {
  it('default to a 15-minute idle limit and no maximum session or statement duration', () => {
    expect(DEFAULT_IDLE_SECONDS).toBe(900);
    expect(policySchema.parse(base).limits).toEqual({ idleSeconds: 900 });
    expect(policySchema.parse({ ...base, limits: {} }).limits).toEqual({ idleSeconds: 900 });
    expect(policySchema.parse({ ...base, limits: { maxSessionSeconds: 3600 } }).limits).toEqual({ idleSeconds: 900, maxSessionSeconds: 3600 });
  });

  it('take all three as positive integers', () => {
    const l = policySchema.parse({ ...base, limits: { idleSeconds: 60, maxSessionSeconds: 28_800, maxStatementSeconds: 300 } }).limits;
    expect(l).toEqual({ idleSeconds: 60, maxSessionSeconds: 28_800, maxStatementSeconds: 300 });
  });

  it('refuse non-integers, zero, negatives, out-of-range values and unknown keys', () => {
    for (const limits of [
      { idleSeconds: 1.5 },
      { idleSeconds: 0 },
      { maxSessionSeconds: -1 },
      { maxStatementSeconds: '30' },
      { idleSeconds: 86_401 },
      { maxSessionSeconds: 8 * 86_400 },
      { idleTimeout: 60 },
    ]) {
      expect(policySchema.safeParse({ ...base, limits }).success, JSON.stringify(limits)).toBe(false);
    }
  });
});
