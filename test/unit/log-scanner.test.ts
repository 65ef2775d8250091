/** The scanner the final log scan uses finds what it must (so a clean scan means something), and passes clean lines. */
import { describe, expect, it } from 'vitest';
import { scanLogLines } from '../helpers/log-scanner.ts';

describe('scanLogLines', () => {
  it('finds clear card numbers, tokens, keys, SCRAM, credentials and registered secrets', () => {
    const lines = [
      '{"msg":"row 4111 1111 1111 1111"}',
      '{"note":"track ;4111111111111111=29121010000012345678?"}',
      '{"token":"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}',
      '{"k":"-----BEGIN OPENSSH PRIVATE KEY-----"}',
      '{"m":"n,,n=,r=abcdefghijklmnopqrstuvwx,s=QSXCR+Q6sek8bf92,i=4096"}',
      '{"h":"Authorization: Bearer abcdefghijklmnopqrstuvwxyz"}',
      '{"p":"password target-Secret-9f3k2"}',
      '{"msg":"digits glued: x4111111111111111y"}',
    ];
    const found = scanLogLines(lines, ['target-Secret-9f3k2']);
    for (let i = 1; i <= lines.length; i++) expect(found.some((f) => f.line === i), lines[i - 1]).toBe(true);
  });

  it('passes what a gateway logs about a session', () => {
    const lines = [
      '{"level":30,"time":1764770000000,"event":"session.closed","sessionId":"5b0c7f5e-4a0e-4c55-9f0b-2f7c0c3d9a11","protocol":"postgres","outcome":"served","reason":"client closed"}',
      '{"event":"config.changed","digest":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}',
      '{"msg":"masked 411111******1111 in a row"}',
      '{"seq":12345,"frames":67890,"port":54321,"pid":4242}',
    ];
    expect(scanLogLines(lines, ['target-Secret-9f3k2'])).toEqual([]);
  });
});
