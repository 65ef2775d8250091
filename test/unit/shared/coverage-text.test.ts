import { describe, expect, it } from 'vitest';
import { coverageText } from '../../../shared/evidence/verify/report.ts';

describe('coverageText', () => {
  it('words each unit the checks use, singular and plural', () => {
    expect(coverageText({ covered: 2, total: 2, unit: 'key' })).toBe('2 of 2 keys');
    expect(coverageText({ covered: 1, total: 1, unit: 'key' })).toBe('1 of 1 key');
    expect(coverageText({ covered: 3, total: 4, unit: 'log entry' })).toBe('3 of 4 log entries');
    expect(coverageText({ covered: 4, total: 5, unit: 'archive' })).toBe('4 of 5 archives');
    expect(coverageText({ covered: 6, total: 7, unit: 'signature' })).toBe('6 of 7 signatures');
    expect(coverageText({ covered: null, total: null, unit: 'archive' })).toBe('');
  });
});
