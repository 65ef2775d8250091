/**
 * No event may make an archive unreadable: a frame holds at most 16 MiB of plaintext (LIMITS), so an event
 * that would push a batch over goes into a frame of its own, and one larger than a frame is refused before
 * anything of it is written. The archive then verifies, every event in it decrypts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVigilError } from '../../shared/errors.ts';
import { LIMITS } from '../../shared/evidence/archive-format.ts';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { memorySource } from '../../shared/evidence/byte-source.ts';
import { verifyBundle } from '../../shared/evidence/verify/verify-bundle.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import { failures, newAppliance } from '../helpers/evidence.ts';

describe('the frame limit', () => {
  it('a large event gets a frame of its own; one larger than a frame is refused and nothing of it is written', async () => {
    const A = newAppliance();
    const app = await Appliance.open(A.configPath);
    const s = app.recorder.start({ protocol: 'postgres', identity: { subject: 'bot' }, target: { name: 'db' }, client: { address: '127.0.0.1:5000' } });
    s.record({ type: 'command', id: 1, kind: 'sql', text: 'SELECT 1' });
    const nearlyAFrame = LIMITS.framePlaintextBytes - 4096;
    s.record({ type: 'output', stream: 'stdout', data: new Uint8Array(nearlyAFrame) });
    let refused: unknown;
    try {
      s.record({ type: 'output', stream: 'stdout', data: new Uint8Array(LIMITS.framePlaintextBytes + 1) });
    } catch (e) {
      refused = e;
    }
    expect(isVigilError(refused, 'E_EVENT_TOO_LARGE'), String(refused)).toBe(true);
    s.record({ type: 'command', id: 2, kind: 'sql', text: 'SELECT 2' });
    await s.close('client terminated');
    const out = join(A.dir, 'b.vigil');
    await exportBundle(app, { out });
    await app.close();

    const events: EvidenceEvent[] = [];
    const r = await verifyBundle(memorySource(new Uint8Array(readFileSync(out))), A.trust, { auditor: A.auditor, onEvents: (_, evs) => events.push(...evs) });
    expect(failures(r)).toEqual([]);
    expect(r.ok).toBe(true);
    // Every event that was accepted is there, in order, with seq numbers without a gap; the refused one is not.
    expect(events.map((e) => [e.seq, e.type, e.data?.length ?? null])).toEqual([
      [0, 'command', null],
      [1, 'output', nearlyAFrame],
      [2, 'command', null],
      [3, 'session.close', null],
    ]);
  }, 120_000);
});
