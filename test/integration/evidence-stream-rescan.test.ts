/**
 * A card number a stream recorded in two pieces (two `output` events of one channel, even in two frames) is
 * clear card data in the archive: the verifier's re-scan joins the events of one stream and finds it. It
 * never joins two channels, output with input, or stdout with stderr, and an event without bytes breaks
 * the stream. Archives written by the real recorder, exported by the real exporter.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../shared/bytes.ts';
import type { EventInput } from '../../appliance/evidence/archive-writer.ts';
import { failures, recordedBundle, verifyBytes } from '../helpers/evidence.ts';

const PAN_HEAD = '41111111'; // neither half is a card number on its own (8 digits each)
const PAN_TAIL = '11111111';

const out = (text: string, extra: Record<string, unknown> = {}): EventInput => ({ type: 'output', stream: 'pty', ...extra, data: utf8(text) });
const input = (text: string, extra: Record<string, unknown> = {}): EventInput => ({ type: 'input', stream: 'pty', ...extra, data: utf8(text) });
const open = (channel: number): EventInput => ({ type: 'channel.open', channel, kind: 'session', pty: { term: 'xterm', cols: 80, rows: 24 } });

async function rescan(events: readonly (EventInput | 'frame')[]) {
  const { appliance: A, bundle } = await recordedBundle([{ subject: 'ssh-bot', protocol: 'ssh', events: [{ type: 'session.open', protocol: 'ssh' }, ...events] }]);
  const r = await verifyBytes(bundle, A.trust, A.auditor);
  return { r, text: failures(r).join('\n'), check: r.checks.find((c) => c.id === 'pan-rescan') };
}

describe('clear card numbers split across stream events', () => {
  it('are found across two output events of one channel, in two frames, and reported masked', async () => {
    const { r, text, check } = await rescan([open(1), out(`txn T-1 card ${PAN_HEAD}`, { channel: 1 }), 'frame', out(`${PAN_TAIL} EUR 12.00\r\n`, { channel: 1 })]);
    expect(check?.status).toBe('fail');
    expect(text).toMatch(/pan-rescan: .*frame \d+: clear visa number 411111\*{6}1111 split across output events of channel 1 in recorded content/);
    expect(JSON.stringify(r)).not.toContain(PAN_HEAD + PAN_TAIL);
    // Only the re-scan fails: the archive itself is intact.
    expect(r.checks.find((c) => c.id === 'digests')?.status).toBe('pass');
  });

  it('are found in one frame, in a card number written with spaces over three events, between events of another channel', async () => {
    const { text, check } = await rescan([open(1), open(2), out('4111 11', { channel: 1 }), out('unrelated', { channel: 2 }), out('11 1111 ', { channel: 1 }), out('1111\r\n', { channel: 1 })]);
    expect(check?.status).toBe('fail');
    expect(text).toMatch(/clear visa number 411111\*{6}1111 split across output events of channel 1/);
  });

  it('are found in output without a channel (the demo terminal shape) and in typed input', async () => {
    const noChannel = await rescan([out(PAN_HEAD), out(PAN_TAIL)]);
    expect(noChannel.text).toMatch(/clear visa number 411111\*{6}1111 split across output events in recorded content/);
    const typed = await rescan([...`${PAN_HEAD}${PAN_TAIL}\r`].map((ch) => input(ch, { channel: 0 })));
    expect(typed.text).toMatch(/clear visa number 411111\*{6}1111 split across input events of channel 0/);
  });

  it('are not made up by joining different streams, a withheld gap, a closed channel, or masked halves', async () => {
    const cases: Record<string, (EventInput | 'frame')[]> = {
      'two channels': [open(1), open(2), out(PAN_HEAD, { channel: 1 }), out(PAN_TAIL, { channel: 2 })],
      'output then input': [open(1), out(PAN_HEAD, { channel: 1 }), input(PAN_TAIL, { channel: 1 })],
      'stdout then stderr': [out(PAN_HEAD, { channel: 1, stream: 'stdout' }), out(PAN_TAIL, { channel: 1, stream: 'stderr' })],
      'bytes withheld between': [input(PAN_HEAD, { channel: 1 }), { type: 'input', channel: 1, stream: 'pty', withheld: 9 }, input(PAN_TAIL, { channel: 1 })],
      'channel closed between': [open(1), out(PAN_HEAD, { channel: 1 }), { type: 'channel.close', channel: 1, exitStatus: 0, exitSignal: null }, open(1), out(PAN_TAIL, { channel: 1 })],
      'masked halves': [open(1), out('card 411111**', { channel: 1 }), 'frame', out('****1111\r\n', { channel: 1 })],
    };
    for (const [name, events] of Object.entries(cases)) {
      const { text, check } = await rescan(events);
      expect(text, name).toBe('');
      expect(check?.status, name).toBe('pass');
    }
  });
});
