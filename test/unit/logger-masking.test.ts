/** The appliance logger masks card numbers in every string (and PAN-long integer) of every line: the last line of defence. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { testLogger } from '../helpers/test-log.ts';
import { scanLogLines } from '../helpers/log-scanner.ts';

describe('appliance logger', () => {
  it('masks card numbers in fields, nested values, numbers, errors and the message', () => {
    let text = '';
    const sink = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
    const log = testLogger('logger-masking', sink);
    log.info({ serial: '4111111111111111', nested: { a: ['x 5555555555554444'] }, n: 4111111111111111, seq: 42 }, 'card 4111 1111 1111 1111 seen');
    log.warn({ err: new Error('boom 378282246310005') }, 'failed');
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(scanLogLines(lines, [])).toEqual([]);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ serial: '411111******1111', nested: { a: ['x 555555******4444'] }, n: '411111******1111', seq: 42, app: 'vigil' });
    expect(String(first['msg'])).not.toContain('4111 1111 1111 1111');
    expect(lines[1]).toContain('boom 378282*****0005');
  });
});
