/**
 * The stream re-scan keeps a bounded tail per stream: a card number split after long output is still found,
 * once, and what it keeps never makes a finding of bytes that did not follow each other.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../../shared/bytes.ts';
import type { EvidenceEvent } from '../../../../shared/evidence/events.ts';
import { StreamRescan } from '../../../../shared/evidence/verify/stream-rescan.ts';

let seq = 0;
const out = (text: string, channel = 1): EvidenceEvent => ({ seq: seq++, t: 0, type: 'output', channel, stream: 'stdout', data: utf8(text) });

describe('StreamRescan', () => {
  it('finds a split card number after long output, once, however the events are batched', () => {
    const s = new StreamRescan();
    expect(s.add([out('x'.repeat(5000)), out(`${'log line\n'.repeat(200)}card 4111 1111`)])).toEqual([]);
    const found = s.add([out(' 1111 1111 ok\n')]);
    expect(found.map((f) => [f.match.kind, f.stream])).toEqual([['pan', 'output (stdout) events of channel 1']]);
    expect(s.add([out('more output 1234\n'), out('5678\n')])).toEqual([]);
  });

  it('finds one typed a byte at a time', () => {
    const s = new StreamRescan();
    const found = [...'5555555555554444\r'].flatMap((ch) => s.add([out(ch, 3)]));
    expect(found).toHaveLength(1);
    expect(found[0]!.match.brand).toBe('mastercard');
  });
});
