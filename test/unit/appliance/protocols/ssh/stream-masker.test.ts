/** The SSH output masker: card numbers split across chunks are masked; only a possible card number's start is held back. */
import { describe, expect, it } from 'vitest';
import { maskCardDataBytes } from '../../../../../shared/pan/index.ts';
import { HOLD_MAX, StreamMasker } from '../../../../../appliance/pipeline/stream-masker.ts';

const masker = () => new StreamMasker((b) => maskCardDataBytes(b, { strict: true }).bytes);
const run = (chunks: string[]) => {
  const m = masker();
  const out = chunks.map((c) => m.push(Buffer.from(c)).toString());
  return { out, all: out.join('') + m.end().toString() };
};

describe('StreamMasker', () => {
  it('masks a card number split across two chunks, at every split point', () => {
    const text = 'card 4111 1111 1111 1111 ok\n';
    for (let i = 1; i < text.length; i++) expect(run([text.slice(0, i), text.slice(i)]).all, `split at ${i}`).toBe('card 4111 11** **** 1111 ok\n');
  });

  it('masks one split byte by byte, and a track 2', () => {
    expect(run([...'4111111111111111\n']).all).toBe('411111******1111\n');
    expect(run([';4111111111', '111111=29121010000012345678?\n']).all).not.toContain('4111111111111111');
  });

  it('releases text at once and holds back only a tail that could start a card number', () => {
    expect(run(['hello world\n', 'bye\n']).out).toEqual(['hello world\n', 'bye\n']);
    // ':', spaces and line breaks can join digit groups in strict mode: the whole tail waits for what follows.
    expect(run(['total: 41', '11\n'])).toEqual({ out: ['total', ''], all: 'total: 4111\n' });
  });

  it('releases a held keyword start when the stream goes quiet (a typed c, a prompt), but never held digits', () => {
    const m = masker();
    expect(m.push(Buffer.from('c')).toString()).toBe('');
    expect(m.holding).toBe(true);
    expect(m.releaseIdle().toString()).toBe('c');
    expect(m.holding).toBe(false);
    expect(m.push(Buffer.from('Enter CVV: ')).toString()).toBe('Enter ');
    expect(m.releaseIdle().toString()).toBe('CVV: ');
    // A card number cut by a pause: its digits stay held, so the whole number is masked when it completes.
    expect(m.push(Buffer.from('paid 4111 1111')).toString()).toBe('paid');
    expect(m.releaseIdle().toString()).toBe('');
    expect(m.push(Buffer.from(' 1111 1111\n')).toString() + m.end().toString()).toBe(' 4111 11** **** 1111\n');
  });

  it('holds no more than HOLD_MAX bytes of a long digit run, and never cuts a card number it can see', () => {
    const m = masker();
    const long = '1 '.repeat(400);
    const out = m.push(Buffer.from(long + '4111111111111111'));
    expect(out.length).toBe(long.length + 16 - HOLD_MAX);
    const all = out.toString() + m.end().toString();
    expect(all).not.toContain('4111111111111111');
    // A card number the forced cut would split is held whole.
    const m2 = masker();
    const first = m2.push(Buffer.from(long + '4111111111111111' + ' 2'.repeat(124))).toString();
    expect(first.length).toBeLessThanOrEqual(long.length);
    expect(first + m2.end().toString()).not.toContain('41111111');
  });
});
