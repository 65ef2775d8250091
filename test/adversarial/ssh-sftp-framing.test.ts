/**
 * Attacks on Vigil's own SFTP framing (sftp-wire.ts, sftp-frame-server.ts): raw bytes on the `sftp`
 * subsystem channel that no SFTP library sends — fields whose lengths run past the packet, packets longer
 * than their fields, a packet too large to buffer, a request id reused while in flight, a handle used before
 * the OPEN that would return it is answered, extensions Vigil does not parse, unknown packet types, READ
 * lengths and offsets out of range, paths that are not UTF-8, no INIT. Both halves each time: the target is
 * not changed (or the client gets only what it may), and the verified evidence says what was refused.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { packet, rawSftpConnection, statusOf, T, type Answer, type RawSftpConnection } from '../helpers/ssh-raw-sftp.ts';
import { startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';

const POLICIES = `
policies:
  - name: deploy
    match: { subjects: [deploy-bot] }
    targets: [web]
    classes: { read: allow, write: allow, default: block }
`;
const ST = { OK: 0, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, OP_UNSUPPORTED: 8 };
const WRITE_CREATE = 0x02 | 0x08 | 0x10;

let f: SshGatewayFixture;
let conn: RawSftpConnection;
let evidence: ExportedEvidence;
let s: string;
const seen: Record<string, Answer | Answer[] | boolean | string> = {};

beforeAll(async () => {
  f = await startSshGatewayFixture({ policies: POLICIES });
  s = f.sshd.scratch;
  for (const n of ['keep-malformed.txt', 'keep-trailing.txt', 'keep-dup.txt', 'keep-ext.txt']) writeFileSync(join(s, n), 'precious');
  writeFileSync(join(s, 'big.bin'), Buffer.alloc(600_000, 'z'));
  conn = await rawSftpConnection(f.port, f.botKey);

  // VERSION and limits@openssh.com.
  let ch = await conn.channel();
  seen['version'] = ch.version!;
  ch.send(packet(T.EXTENDED, 1, 'limits@openssh.com'));
  seen['limits'] = await ch.answer(1);

  // A path length (65535) pointing past the end of the packet (an OPEN for writing).
  const path = Buffer.from(`${s}/created-by-malformed.txt`);
  const body = Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from([0, 0, 0xff, 0xff]), path, Buffer.from([0, 0, 0, WRITE_CREATE, 0, 0, 0, 0])]);
  const p = Buffer.alloc(5 + body.length);
  p.writeUInt32BE(1 + body.length);
  p[4] = T.OPEN;
  body.copy(p, 5);
  ch.send(p);
  seen['overrun'] = await ch.answer(2);
  // A REMOVE with 8 bytes after its last field (the packet's length says more than its fields hold).
  ch.send(Buffer.concat([withLength(packet(T.REMOVE, 3, `${s}/keep-trailing.txt`), 8), Buffer.alloc(8)]));
  seen['trailing'] = await ch.answer(3);
  // The session goes on: a STAT afterwards is answered.
  ch.send(packet(T.STAT, 4, `${s}/keep-malformed.txt`));
  seen['after'] = await ch.answer(4);
  // An unknown packet type, and extensions Vigil does not parse (one that would rename a file).
  ch.send(packet(99, 5, 'x'));
  seen['unknown'] = await ch.answer(5);
  ch.send(packet(T.EXTENDED, 6, 'posix-rename@openssh.com', `${s}/keep-ext.txt`, `${s}/renamed-by-ext.txt`));
  seen['ext'] = await ch.answer(6);
  ch.send(packet(T.EXTENDED, 7, 'copy-data', Buffer.alloc(3)));
  seen['ext2'] = await ch.answer(7);
  // A path that is not UTF-8 (an OPEN for writing).
  ch.send(packet(T.OPEN, 8, { str: Buffer.concat([Buffer.from(`${s}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]) }, WRITE_CREATE, 0));
  seen['utf8'] = await ch.answer(8);
  // READ: a huge length is capped at what Vigil advertised; an offset beyond 2^53 is refused.
  ch.send(packet(T.OPEN, 9, `${s}/big.bin`, 0x01, 0));
  const big = await ch.answer(9);
  const h = big.body.subarray(4, 4 + big.body.readUInt32BE(0));
  ch.send(packet(T.READ, 10, { str: h }, { u64: 0 }, 0xffffffff));
  seen['hugeRead'] = await ch.answer(10);
  ch.send(packet(T.READ, 11, { str: h }, { u64: 2n ** 60n }, 10));
  seen['farRead'] = await ch.answer(11);
  ch.send(packet(T.CLOSE, 12, { str: h }));
  await ch.answer(12);
  ch.end();

  // A request id reused while the first request is in flight (both in one SSH packet).
  ch = await conn.channel();
  ch.send(Buffer.concat([packet(T.OPEN, 7, `${s}/dup-open.txt`, WRITE_CREATE, 0), packet(T.REMOVE, 7, `${s}/keep-dup.txt`)]));
  seen['dup'] = [await ch.answer(7), await ch.answer(7)];
  ch.end();

  // A handle used before the OPEN that would return it is answered: Vigil's next handle is 00000000.
  ch = await conn.channel();
  const guess = Buffer.alloc(4);
  ch.send(Buffer.concat([packet(T.OPEN, 1, `${s}/early.txt`, WRITE_CREATE, 0), packet(T.WRITE, 2, { str: guess }, { u64: 0 }, 'EARLY-WRITE')]));
  seen['early'] = await ch.answer(2);
  const opened = await ch.answer(1);
  seen['earlyOpen'] = opened;
  ch.send(packet(T.CLOSE, 3, { str: opened.body.subarray(4, 4 + opened.body.readUInt32BE(0)) }));
  await ch.answer(3);
  ch.end();

  // A packet far larger than any SFTP packet: refused before its bytes are buffered, the channel ends.
  ch = await conn.channel();
  const huge = Buffer.alloc(9);
  huge.writeUInt32BE(0x7fffffff);
  huge[4] = T.WRITE;
  huge.writeUInt32BE(21, 5);
  ch.send(huge);
  ch.send(Buffer.alloc(64 * 1024, 0x41));
  seen['huge'] = await ch.answer(21);
  await ch.closed;
  // No INIT first: the channel ends without a VERSION.
  ch = await conn.channel(false);
  ch.send(packet(T.STAT, 1, s));
  await ch.closed;
  seen['noInit'] = ch.answers.length === 0;
  // A flood: 2000 requests in one go (past the 128 processed at once), 100 of them malformed.
  ch = await conn.channel();
  const flood: Buffer[] = [];
  for (let i = 0; i < 2000; i++) flood.push(i % 20 === 0 ? Buffer.concat([withLength(packet(T.STAT, 1000 + i, s), 1), Buffer.alloc(1)]) : packet(T.STAT, 1000 + i, `${s}/keep-dup.txt`));
  ch.send(Buffer.concat(flood));
  const answered = await Promise.all(Array.from({ length: 2000 }, (_, i) => ch.answer(1000 + i, 60_000)));
  seen['flood'] = answered;
  ch.end();
  // Other channels on the connection still work.
  ch = await conn.channel();
  ch.send(packet(T.STAT, 1, `${s}/keep-dup.txt`));
  seen['stillServing'] = await ch.answer(1);
  ch.end();
  conn.end();
  await new Promise((r) => setTimeout(r, 300));
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 180_000);

afterAll(async () => {
  await f?.sshd.stop();
});

/** `p` with its length field increased by `extra` (the bytes are appended by the caller). */
function withLength(p: Buffer, extra: number): Buffer {
  const q = Buffer.from(p);
  q.writeUInt32BE(q.readUInt32BE(0) + extra);
  return q;
}

const events = (): EvidenceEvent[] => [...evidence.sessions.values()].flat();
const commands = () => events().filter((e) => e.type === 'command' && e['kind'] === 'sftp').map((e) => String(e['text']));
const refusals = () => events().filter((e) => e.type === 'notice' && e['kind'] === 'request-refused');
const status = (k: string) => statusOf(seen[k] as Answer);

describe('SFTP framing attacks', () => {
  it('advertises only limits@openssh.com and answers it with its own limits', () => {
    const v = seen['version'] as Answer;
    expect(v.body.readUInt32BE(0)).toBe(3);
    expect(v.body.subarray(4).toString('latin1')).toContain('limits@openssh.com');
    expect(v.body.length).toBe(4 + 4 + 'limits@openssh.com'.length + 4 + 1);
    const l = seen['limits'] as Answer;
    expect(l.type).toBe(T.EXTENDED_REPLY);
    expect([0, 8, 16, 24].map((o) => Number(l.body.readBigUInt64BE(o)))).toEqual([262_144, 261_120, 261_120, 256]);
  });

  it('a field whose length runs past the packet: BAD_MESSAGE, nothing created, recorded, and the session goes on', () => {
    expect(status('overrun').code).toBe(ST.BAD_MESSAGE);
    expect(existsSync(join(s, 'created-by-malformed.txt'))).toBe(false);
    expect(commands().some((t) => t.includes('created-by-malformed'))).toBe(false);
    expect(refusals().some((e) => String(e['request']).startsWith('a malformed SFTP request (type 3)'))).toBe(true);
    expect((seen['after'] as Answer).type).toBe(T.ATTRS);
  });

  it('a packet longer than its fields (a length that lies): BAD_MESSAGE, the file is not removed', () => {
    expect(status('trailing')).toMatchObject({ code: ST.BAD_MESSAGE, message: expect.stringContaining('after the last field') });
    expect(readFileSync(join(s, 'keep-trailing.txt'), 'utf8')).toBe('precious');
    expect(commands().some((t) => t.startsWith('rm ') && t.includes('keep-trailing'))).toBe(false);
  });

  it('extensions Vigil does not parse and unknown types: OP_UNSUPPORTED naming them, the target untouched, recorded', () => {
    expect(status('ext')).toMatchObject({ code: ST.OP_UNSUPPORTED, message: expect.stringContaining('"posix-rename@openssh.com" is not supported') });
    expect(status('ext2')).toMatchObject({ code: ST.OP_UNSUPPORTED, message: expect.stringContaining('"copy-data"') });
    expect(status('unknown')).toMatchObject({ code: ST.OP_UNSUPPORTED, message: expect.stringContaining('type 99') });
    expect(readFileSync(join(s, 'keep-ext.txt'), 'utf8')).toBe('precious');
    expect(existsSync(join(s, 'renamed-by-ext.txt'))).toBe(false);
    expect(commands().some((t) => t.startsWith('rename'))).toBe(false);
    const r = refusals().map((e) => String(e['request']));
    expect(r).toContain('the SFTP extension "posix-rename@openssh.com"');
    expect(r).toContain('an SFTP request of type 99');
  });

  it('a path that is not UTF-8: refused by policy as undecidable, nothing created', () => {
    expect(status('utf8').code).toBe(ST.PERMISSION_DENIED);
    expect(readFileSync(join(s, 'keep-malformed.txt'), 'utf8')).toBe('precious');
    const blocked = events().find((e) => e.type === 'decision' && e['rule'] === 'vigil/sftp-path');
    expect(blocked).toMatchObject({ decision: 'block' });
  });

  it('READ lengths are capped at what Vigil advertised; offsets beyond 2^53 are refused', () => {
    const d = seen['hugeRead'] as Answer;
    expect(d.type).toBe(T.DATA);
    expect(d.body.readUInt32BE(0)).toBe(261_120);
    expect(status('farRead').code).toBe(ST.BAD_MESSAGE);
  });

  it('a request id reused while in flight: the second is refused and not done, the first completes', () => {
    const [a, b] = seen['dup'] as Answer[];
    const refused = [a!, b!].find((x) => x.type === T.STATUS)!;
    expect(statusOf(refused)).toMatchObject({ code: ST.FAILURE, message: expect.stringContaining('already in use') });
    expect([a!, b!].some((x) => x.type === T.HANDLE)).toBe(true);
    expect(readFileSync(join(s, 'keep-dup.txt'), 'utf8')).toBe('precious');
    expect(commands().some((t) => t.startsWith('rm ') && t.includes('keep-dup'))).toBe(false);
    expect(commands()).toContain(`put ${s}/dup-open.txt`);
    expect(refusals().some((e) => String(e['message']).includes('request id 7 is already in use'))).toBe(true);
  });

  it('a handle used before its OPEN is answered is not a handle: the write does not reach the file', () => {
    expect(statusOf(seen['early'] as Answer)).toMatchObject({ code: ST.FAILURE, message: 'vigil: invalid handle' });
    expect((seen['earlyOpen'] as Answer).type).toBe(T.HANDLE);
    expect(readFileSync(join(s, 'early.txt'), 'utf8')).toBe('');
    expect(events().find((e) => e.type === 'transfer' && String(e['path']).endsWith('/early.txt'))).toMatchObject({ direction: 'upload', bytes: 0 });
  });

  it('a flood of requests is answered in full (processed 128 at a time); refusals past 32 are counted, not recorded one by one', () => {
    const a = seen['flood'] as Answer[];
    expect(a.filter((x) => x.type === T.ATTRS)).toHaveLength(1900);
    expect(a.filter((x) => x.type === T.STATUS && statusOf(x).code === ST.BAD_MESSAGE)).toHaveLength(100);
    const s = [...evidence.sessions.values()].find((evs) => evs.some((e) => e.type === 'notice' && String(e['request']) === 'further malformed or unsupported SFTP requests'))!;
    expect(s.filter((e) => e.type === 'notice' && String(e['request']).startsWith('a malformed SFTP request (type 17)'))).toHaveLength(32);
    expect(s.find((e) => e.type === 'notice' && String(e['request']) === 'further malformed or unsupported SFTP requests')).toMatchObject({ message: expect.stringContaining('68 more were refused') });
  });

  it('a packet too large to be SFTP: BAD_MESSAGE, the channel ends, recorded; other channels carry on', () => {
    expect(status('huge')).toMatchObject({ code: ST.BAD_MESSAGE, message: expect.stringContaining('2147483647 bytes') });
    expect(events().some((e) => e.type === 'channel.close' && String(e['reason']).includes('client sftp protocol error: an SFTP packet of 2147483647 bytes'))).toBe(true);
    expect(seen['noInit']).toBe(true);
    expect(events().some((e) => e.type === 'channel.close' && String(e['reason']).includes('the first packet was not INIT'))).toBe(true);
    expect((seen['stillServing'] as Answer).type).toBe(T.ATTRS);
  });
});
