import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvidenceJournal } from '../../../../appliance/evidence/journal.ts';
import { tempDir } from '../../../helpers/evidence.ts';

const SESSION = new Uint8Array(16).fill(7);

describe('the evidence journal', () => {
  it('writes queued bytes out once they pass 1 MiB, without waiting for a commit (memory stays bounded)', async () => {
    const dir = tempDir('vigil-journal-');
    const j = new EvidenceJournal(dir, 'write');
    const chunk = new Uint8Array(32 * 1024).fill(1);
    for (let i = 0; i < 20; i++) j.add(SESSION, i * chunk.length, chunk);
    expect(j.issuedBytes).toBe(8); // 640 KiB queued: only the magic is on file
    for (let i = 20; i < 40; i++) j.add(SESSION, i * chunk.length, chunk);
    expect(j.issuedBytes).toBeGreaterThan(1024 * 1024); // handed to the thread pool without a commit
    await j.settled();
    expect(j.currentBytes).toBe(j.issuedBytes);
    await j.close();
  });

  it('a commit still writes everything queued, in order, after an early write', async () => {
    const dir = tempDir('vigil-journal-');
    const j = new EvidenceJournal(dir, 'fsync');
    const chunk = new Uint8Array(600 * 1024);
    for (let i = 0; i < 3; i++) j.add(SESSION, i * chunk.length, new Uint8Array(chunk.length).fill(i + 1));
    await j.commit();
    const file = readFileSync(join(dir, '00000001.wal'));
    // Three entries of head (33 bytes) + 600 KiB, in the order added: their first payload bytes say so.
    const at = (k: number) => 8 + k * (33 + chunk.length) + 33;
    expect([file[at(0)], file[at(1)], file[at(2)]]).toEqual([1, 2, 3]);
    expect(file.length).toBe(8 + 3 * (33 + chunk.length));
    await j.close();
  });
});
