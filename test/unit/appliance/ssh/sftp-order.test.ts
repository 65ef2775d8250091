import { describe, expect, it } from 'vitest';
import { handleClaim, pathClaims, RequestOrder, type Claim } from '../../../../appliance/protocols/ssh/sftp-order.ts';

/** A request that runs until `release` is called, logging when it starts. */
function request(order: RequestOrder, log: string[], name: string, claims: Claim[]) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  order.run(claims, async () => {
    log.push(name);
    await gate;
  });
  return release;
}
const tick = () => new Promise((r) => setTimeout(r, 5));
const h = Buffer.from([0, 0, 0, 1]);

describe('SFTP request order', () => {
  it('READs of a handle run together; a CLOSE waits for them, and a later READ for the CLOSE', async () => {
    const o = new RequestOrder();
    const log: string[] = [];
    const r1 = request(o, log, 'read1', handleClaim(h, 'shared'));
    const r2 = request(o, log, 'read2', handleClaim(h, 'shared'));
    const c = request(o, log, 'close', handleClaim(h, 'alone'));
    const r3 = request(o, log, 'read3', handleClaim(h, 'shared'));
    await tick();
    expect(log).toEqual(['read1', 'read2']);
    r1();
    await tick();
    expect(log).toEqual(['read1', 'read2']);
    r2();
    await tick();
    expect(log).toEqual(['read1', 'read2', 'close']);
    c();
    await tick();
    expect(log).toEqual(['read1', 'read2', 'close', 'read3']);
    r3();
    await o.idle();
    expect(o.tracked).toBe(0);
  });

  it('a change to a directory waits for requests beneath it and holds back later ones; other paths run on', async () => {
    const o = new RequestOrder();
    const log: string[] = [];
    const held = request(o, log, 'open /a/b/f', pathClaims('/a/b/f', 'shared'));
    const rename = request(o, log, 'rename /a/b', [...pathClaims('/a/b', 'alone'), ...pathClaims('/c', 'alone')]);
    const after = request(o, log, 'stat /a/b/g', pathClaims('/a/b/g', 'shared'));
    const other = request(o, log, 'remove /a/x', pathClaims('/a/x', 'alone'));
    await tick();
    expect(log).toEqual(['open /a/b/f', 'remove /a/x']);
    held();
    await tick();
    expect(log).toEqual(['open /a/b/f', 'remove /a/x', 'rename /a/b']);
    rename();
    await tick();
    expect(log).toContain('stat /a/b/g');
    after();
    other();
    await o.idle();
    expect(o.tracked).toBe(0);
  });
});
