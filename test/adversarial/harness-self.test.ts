/**
 * The suite's clear-card-data detector must itself be trustworthy: every form it claims to find is found,
 * and the gateway's legitimate outputs (6+4 masks, markers, ordinary numbers) are not flagged.
 */
import { describe, expect, it } from 'vitest';
import { cardLeaks, fullWidth } from './harness.ts';

const PAN = '4111111111111111';
const f8 = Buffer.alloc(8);
f8.writeDoubleBE(Number(PAN));
const i8 = Buffer.alloc(8);
i8.writeBigInt64BE(BigInt(PAN));

describe('cardLeaks', () => {
  it.each([
    ['digits', `x${PAN}y`],
    ['reversed', [...PAN].reverse().join('')],
    ['hex of ASCII', Buffer.from(PAN).toString('hex')],
    ['base64, any alignment', Buffer.from(`ab${PAN}`).toString('base64')],
    ['separators removed', '4111.1111.1111.1111'],
    ['money', '$4,111,111,111,111,111.00'],
    ['float text', '4.111111111111111e+15'],
    ['full-width digits', fullWidth(PAN)],
    ['hex of the number', BigInt(PAN).toString(16)],
    ['digits as letters', 'ebbbbbbbbbbbbbbb'],
    ['float8 binary', Buffer.concat([Buffer.from([0, 0, 0, 8]), f8])],
    ['int8 binary', i8],
    ['a JS number', Number(PAN)],
  ])('finds a PAN as %s', (_how, value) => {
    expect(cardLeaks([value])).not.toEqual([]);
  });

  it('does not flag masks, markers, or numbers next to each other in separate values', () => {
    expect(cardLeaks(['411111******1111', '[REDACTED]', '"[REDACTED]"', null, 'order 20261129184132123 shipped', ['1', '4111', '1111', '1111', '1111'], { rowCount: 3 }])).toEqual([]);
  });
});
