import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';

let f: GatewayFixture;
beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(async () => {
  await f?.stop();
});

describe('psql through the gateway', () => {
  it('returns card numbers masked, CVV redacted and track data removed', async () => {
    const r = await f.psql('SELECT id, card_number, cvv, note FROM customers ORDER BY id');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      '1|411111******1111|[REDACTED]|paid with 4111 11** **** 1111 on 2026-11-01',
      '2|555555******4444|[REDACTED]|order 20261129184132123 shipped',
      '3|378282*****0005|[REDACTED]|track [REDACTED TRACK DATA]',
    ]);
  });
});
