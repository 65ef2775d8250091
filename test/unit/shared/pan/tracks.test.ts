import { describe, expect, it } from 'vitest';
import { findCardData, maskCardData } from '../../../../shared/pan/index.ts';
import type { CardDataMatch } from '../../../../shared/pan/index.ts';
import { utf8 } from './helpers.ts';

function find(text: string): CardDataMatch[] {
  const m = findCardData(text);
  expect(findCardData(utf8(text)), text).toEqual(m);
  return m;
}

/** The single track match, as the substring it covers. */
function track(text: string): { kind: string; covered: string } {
  const m = find(text);
  expect(m, text).toHaveLength(1);
  return { kind: m[0]!.kind, covered: text.slice(m[0]!.start, m[0]!.end) };
}

describe('track 2', () => {
  it('covers sentinels, PAN, expiry, service code and discretionary data', () => {
    const t2 = ';4111111111111111=25121010000000000000?';
    expect(track(`read ${t2} done`)).toEqual({ kind: 'track2', covered: t2 });
    expect(track(t2)).toEqual({ kind: 'track2', covered: t2 });
  });

  it('works without sentinels, as logs often print it', () => {
    expect(track('t2=5555555555554444=2612101123456789 next')).toEqual({
      kind: 'track2',
      covered: '5555555555554444=2612101123456789',
    });
    expect(track('4111111111111111=2512101')).toEqual({ kind: 'track2', covered: '4111111111111111=2512101' });
  });

  it('stops at the first character that cannot belong to it, and at 40 characters', () => {
    expect(track(';4111111111111111=2512101999abc').covered).toBe(';4111111111111111=2512101999');
    const long = `;4111111111111111=2512101${'0'.repeat(40)}?`;
    const m = find(long);
    expect(m[0]).toEqual({ start: 0, end: 40, kind: 'track2', brand: undefined });
  });

  it('needs a valid PAN and the 7 digits after the separator', () => {
    expect(find(';4111111111111112=25121010000000000000?')).toEqual([]); // Luhn fails
    expect(find(';1234567890123456=25121010000000000000?')).toEqual([]); // no brand
    // Too few digits after '=': not a track, but the PAN is still a PAN.
    expect(find('4111111111111111=2512')).toEqual([{ start: 0, end: 16, kind: 'pan', brand: 'visa' }]);
  });
});

describe('track 1', () => {
  const t1 = '%B4111111111111111^DOE/JOHN^2512101000000000000000000?';

  it('covers sentinels, format code, PAN, name, expiry, service code and discretionary data', () => {
    expect(track(`swipe ${t1} done`)).toEqual({ kind: 'track1', covered: t1 });
    expect(track(t1)).toEqual({ kind: 'track1', covered: t1 });
  });

  it('works without sentinels', () => {
    expect(track('B5555555555554444^MUSTERMANN/ERIKA^2612201 123 0000').covered).toBe(
      'B5555555555554444^MUSTERMANN/ERIKA^2612201 123 0000',
    );
  });

  it('stops at the first character outside the track 1 set, and at 79 characters', () => {
    expect(track('B4111111111111111^DOE/JOHN^2512101000 status=ok').covered).toBe('B4111111111111111^DOE/JOHN^2512101000 ');
    const long = `%B4111111111111111^DOE/JOHN^2512101${'0'.repeat(60)}?`;
    expect(find(long)[0]).toEqual({ start: 0, end: 79, kind: 'track1', brand: undefined });
  });

  it('masks the PAN when the rest of the track does not parse', () => {
    // The name is longer than 26 characters: no track, but the PAN after 'B' must not leak.
    const text = '%B4111111111111111^THIS NAME IS FAR TOO LONG FOR A TRACK^2512101?';
    expect(find(text)).toEqual([{ start: 2, end: 18, kind: 'pan', brand: 'visa' }]);
    expect(maskCardData(text).text).toBe('%B411111******1111^THIS NAME IS FAR TOO LONG FOR A TRACK^2512101?');
  });

  it('needs a valid PAN', () => {
    expect(find('%B4111111111111112^DOE/JOHN^2512101000?')).toEqual([]);
  });
});

describe('tracks among other data', () => {
  it('finds tracks and PANs in order', () => {
    const text = 'a 4111111111111111 b ;5555555555554444=26121010000? c %B378282246310005^X/Y^2701101? d';
    expect(find(text).map((m) => [m.kind, text.slice(m.start, m.end)])).toEqual([
      ['pan', '4111111111111111'],
      ['track2', ';5555555555554444=26121010000?'],
      ['track1', '%B378282246310005^X/Y^2701101?'],
    ]);
    expect(maskCardData(text)).toEqual({
      text: 'a 411111******1111 b [REDACTED TRACK DATA] c [REDACTED TRACK DATA] d',
      masked: 3,
    });
  });
});
