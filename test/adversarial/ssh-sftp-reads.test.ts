/**
 * Attacks on the SFTP download stream (sftp-download.ts) with READs a client chooses: a card number straddling
 * two of the 128 KiB chunks Vigil reads ahead, odd-sized overlapping READs at odd offsets sent all at once,
 * READs out of order (after the card number first, then on it), a file that grows a card number while it is
 * read, and one that shrinks (Vigil may have read ahead of the cut: the client gets a prefix of the file as it was,
 * and the record hashes exactly what it got). Both halves each time: no READ answer that reached the client holds a digit of
 * the card number, and the verified evidence records the transfer as blocked (or as what happened).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK } from '../../appliance/protocols/ssh/sftp-download.ts';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { failures } from '../helpers/evidence.ts';
import { rawSftp, type RawSftp } from '../helpers/sftp-client.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    classes: { read: allow, write: allow, default: block }
`;
const PAN = '4111111111111111';
const DENIED = 3;
/** READ size: ssh2's client splits a READ above ~32 000 bytes into two, sent after its other READs (out of order). */
const R = 30_000;

let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let c: RawSftp;

/** `size` bytes of filler with ` PAN ` written so that the PAN's digits start at `at`. */
function fileWithPan(size: number, at: number): Buffer {
  const b = Buffer.alloc(size, 'x');
  b.write(` ${PAN} `, at - 1, 'latin1');
  return b;
}

type Answer = { off: number; len: number; data?: Buffer; code?: number };
async function reads(h: Buffer, list: [number, number][]): Promise<Answer[]> {
  // All sent before any answer arrives.
  return Promise.all(list.map(async ([off, len]) => {
    const r = await c.read(h, off, len);
    return 'data' in r ? { off, len, data: r.data } : { off, len, code: r.code };
  }));
}

/** Whether an answer that reached the client overlaps the PAN's digits at [at, at+16). */
const leaked = (answers: Answer[], at: number) => answers.filter((a) => a.data && a.data.length > 0 && a.off < at + PAN.length && a.off + a.data.length > at);

const results: Record<string, Answer[]> = {};
const CLEAN = Buffer.alloc(1_000_000);
for (let i = 0; i < CLEAN.length; i++) CLEAN[i] = 0x41 + ((i * 7919) % 26);
const AT = CHUNK - 7; // the digits straddle the boundary between the stream's first two chunks

beforeAll(async () => {
  f = await startSshGatewayFixture({ policies: POLICIES });
  const s = f.sshd.scratch;
  for (const name of ['seq', 'odd', 'ooo']) writeFileSync(join(s, `straddle-${name}.bin`), fileWithPan(3 * CHUNK, AT));
  writeFileSync(join(s, 'grow.bin'), Buffer.alloc(200_000, 'y'));
  writeFileSync(join(s, 'shrink.bin'), CLEAN);
  writeFileSync(join(s, 'clean.bin'), CLEAN);
  c = await rawSftp(f.port, f.botKey);

  // Sequential READs, 12 in flight (as OpenSSH pipelines them).
  let h = await c.open(`${s}/straddle-seq.bin`, 'r');
  results['seq'] = await reads(h, Array.from({ length: 12 }, (_, k) => [k * R, R]));
  await c.close(h);

  // 1000-byte READs every 777 bytes (overlapping, odd offsets) around the boundary, in a shuffled order, all at once.
  h = await c.open(`${s}/straddle-odd.bin`, 'r');
  const odd: [number, number][] = [];
  for (let off = AT - 12_000 + 3; off < AT + 6_000; off += 777) odd.push([off, 1000]);
  // One ending after the card number's first 3 digits, inside the stream's first chunk (its scan must wait for the second).
  odd.push([AT - 50, 53]);
  for (let i = odd.length - 1; i > 0; i--) {
    const j = (i * 31) % (i + 1);
    [odd[i], odd[j]] = [odd[j]!, odd[i]!];
  }
  results['odd'] = await reads(h, odd);
  await c.close(h);

  // Out of order: the end first, then the bytes just after the card number, then its middle, then the start.
  h = await c.open(`${s}/straddle-ooo.bin`, 'r');
  results['ooo'] = [];
  for (const [off, len] of [[2 * CHUNK, R], [AT + 16, 4096], [AT + 8, 8], [0, R]] as [number, number][]) results['ooo'].push(...(await reads(h, [[off, len]])));
  await c.close(h);

  // A file that grows a card number while it is read.
  h = await c.open(`${s}/grow.bin`, 'r');
  results['grow'] = await reads(h, [[0, R], [R, R]]);
  appendFileSync(join(s, 'grow.bin'), ` ${PAN} tail`);
  for (let off = 2 * R; off < 240_000; off += R) results['grow'].push(...(await reads(h, [[off, R]])));
  await c.close(h);

  // A file that shrinks while it is read: the client gets the bytes there are, then the end.
  h = await c.open(`${s}/shrink.bin`, 'r');
  results['shrink'] = await reads(h, [[0, R], [R, R]]);
  truncateSync(join(s, 'shrink.bin'), 100_000);
  for (let off = 2 * R; off < 200_000; off += R) results['shrink'].push(...(await reads(h, [[off, R]])));
  await c.close(h);

  // A clean file, 64 READs in flight: byte for byte, hashed.
  h = await c.open(`${s}/clean.bin`, 'r');
  results['clean'] = await reads(h, Array.from({ length: Math.ceil(CLEAN.length / R) + 1 }, (_, k) => [k * R, R]));
  await c.close(h);
  c.end();
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 180_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const events = (): EvidenceEvent[] => [...evidence.sessions.values()].flat();
const transfer = (name: string) => events().find((e) => e.type === 'transfer' && String(e['path']).endsWith(`/${name}`));

describe('SFTP download stream attacks', () => {
  it('a card number straddling two read-ahead chunks, sequential READs: refused from the READ holding its first digit on', () => {
    const a = results['seq']!;
    expect(leaked(a, AT)).toEqual([]);
    expect(a[0]!.data?.length).toBe(R); // the bytes before it do arrive
    expect(a.find((x) => x.off <= AT && x.off + x.len > AT)?.code).toBe(DENIED);
    // Nothing after the refusal reaches the client either.
    expect(a.filter((x) => x.off > AT && x.data)).toEqual([]);
    expect(transfer('straddle-seq.bin')).toMatchObject({ direction: 'download', outcome: 'blocked', sha256: null });
  });

  it('overlapping odd-sized READs at odd offsets, shuffled and all in flight: none holding a digit is answered', () => {
    const a = results['odd']!;
    expect(leaked(a, AT)).toEqual([]);
    expect(a.some((x) => x.code === DENIED)).toBe(true);
    expect(a.some((x) => x.data && x.off + x.len < AT - 256)).toBe(true); // READs well before it are answered
    expect(transfer('straddle-odd.bin')).toMatchObject({ outcome: 'blocked', sha256: null });
  });

  it('out of order (after the card number, then its middle, then the start): its middle is refused, and all after', () => {
    const a = results['ooo']!;
    expect(leaked(a, AT)).toEqual([]);
    expect(a[0]!.data?.length).toBe(R);
    expect(a[2]!.code).toBe(DENIED);
    expect(a[3]!.code).toBe(DENIED);
    expect(transfer('straddle-ooo.bin')).toMatchObject({ outcome: 'blocked', sha256: null });
  });

  it('a card number appended while the file is read: the READ reaching it is refused', () => {
    const a = results['grow']!;
    expect(leaked(a, 200_001)).toEqual([]);
    expect(a.some((x) => x.code === DENIED)).toBe(true);
    expect(transfer('grow.bin')).toMatchObject({ outcome: 'blocked', sha256: null });
  });

  it('a file truncated while read: the client gets a prefix of the file (what was read ahead, or less); the record hashes exactly that', () => {
    const got = Buffer.concat(results['shrink']!.flatMap((x) => (x.data ? [x.data] : [])));
    expect(got.length).toBeGreaterThanOrEqual(100_000);
    expect(got.equals(CLEAN.subarray(0, got.length))).toBe(true);
    expect(transfer('shrink.bin')).toMatchObject({ outcome: 'complete', bytes: got.length, sha256: createHash('sha256').update(got).digest('hex') });
  });

  it('a clean file with 35 READs in flight: byte for byte, recorded complete with its SHA-256', () => {
    const got = Buffer.concat(results['clean']!.flatMap((x) => (x.data ? [x.data] : [])));
    expect(got.equals(CLEAN)).toBe(true);
    expect(transfer('clean.bin')).toMatchObject({ outcome: 'complete', bytes: CLEAN.length, sha256: createHash('sha256').update(CLEAN).digest('hex') });
  });

  it('the evidence verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });
});
