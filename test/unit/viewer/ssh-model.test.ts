/**
 * The viewer's SSH model over synthetic events (the shapes of docs/evidence-format.md §4.3): channels and
 * how they ended (unknown stays unknown), commands with their marks, transfers, forwards, the login facts,
 * the per-channel replay track (pty size, resizes, line feeds of an exec without a terminal) and its
 * asciicast, which the real `asciinema cat` plays. `resize`, `transfer` and `forward.*` are not written by
 * the gateway yet: these tests are their only check until it does (the e2e test covers exec sessions).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { channelEnd, clientLoginFacts, forwards, hostPort, isSsh, sshChannels, sshCommands, targetLoginFacts, transfers } from '../../../viewer/src/model/ssh.ts';
import { channelAsciicast, channelCastFileName, channelTrack, commandMarkers, currentCommand, sessionDuration, sizeAt } from '../../../viewer/src/model/ssh-replay.ts';
import { tempDir } from '../../helpers/evidence.ts';
import { asciinema } from '../../helpers/asciinema.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function session(list: [number, string, Record<string, unknown>, string?][]): EvidenceEvent[] {
  return list.map(([t, type, fields, data], seq) => ({ seq, t, type, ...fields, ...(data !== undefined ? { data: enc(data) } : {}) }));
}

const SHA = 'ab'.repeat(32);

const EVENTS = session([
  [0, 'session.open', { protocol: 'ssh', client: { address: '127.0.0.1:40000' } }],
  [5, 'identity.verified', { method: 'ssh-certificate', subject: 'bot:repo:acme/deploy', claims: { keyId: 'bot:repo:acme/deploy', serial: '4242', caFingerprint: 'SHA256:caFP', principals: ['deploy'], criticalOptions: { 'source-address': '10.0.0.0/8' } } }],
  [8, 'notice', { kind: 'target-connected', method: 'certificate', user: 'deploy', certificate: { keyId: 'vigil:session=s1:subject=bot', serial: '99', principal: 'deploy', caFingerprint: 'SHA256:targetCA', validAfter: '2026-12-03T07:00:00Z' } }],
  // exec on channel 0, no pty: bare line feeds
  [10, 'command', { id: 1, kind: 'exec', text: 'echo one; echo two', channel: 0 }],
  [10, 'decision', { command: 1, decision: 'allow', rule: 'ci/exec' }],
  [10, 'channel.open', { channel: 0, kind: 'exec', command: 'echo one; echo two' }],
  [20, 'output', { channel: 0, stream: 'stdout' }, 'one\n'],
  [30, 'output', { channel: 0, stream: 'stderr' }, 'two\r\n\x1b]52;c;ZXZpbA==\x07x\n'],
  [40, 'channel.close', { channel: 0, exitStatus: 0, exitSignal: null }],
  // blocked on channel 1
  [50, 'command', { id: 2, kind: 'exec', text: 'rm -rf /srv', channel: 1 }],
  [50, 'decision', { command: 2, decision: 'block', rule: 'ci/no-rm', reason: 'no deletes' }],
  [50, 'channel.open', { channel: 1, kind: 'exec', command: 'rm -rf /srv' }],
  [51, 'channel.close', { channel: 1, exitStatus: 1, exitSignal: null, reason: 'blocked' }],
  // held then approved, channel number 0 used again; the target said nothing about how it ended
  [60, 'command', { id: 3, kind: 'exec', text: 'systemctl restart web', channel: 0 }],
  [60, 'decision', { command: 3, decision: 'hold', rule: 'ci/restart', reason: 'needs ops' }],
  [60, 'channel.open', { channel: 0, kind: 'exec', command: 'systemctl restart web' }],
  [90, 'decision', { command: 3, decision: 'approved', rule: 'ci/restart', approvedBy: ['dana@acme.test'] }],
  [95, 'channel.close', { channel: 0, exitStatus: null, exitSignal: null }],
  // a shell with a pty, resized twice (once to the same size), never closed
  [100, 'channel.open', { channel: 2, kind: 'shell', pty: { term: 'xterm-256color', cols: 100, rows: 30 } }],
  [110, 'output', { channel: 2, stream: 'pty' }, '$ '],
  [120, 'resize', { channel: 2, cols: 120, rows: 40 }],
  [125, 'resize', { channel: 2, cols: 120, rows: 40 }],
  [130, 'output', { channel: 2, stream: 'pty' }, 'ls\r\n'],
  [140, 'input', { channel: 2, stream: 'stdin', withheld: 9 }],
  [150, 'resize', { channel: 2, cols: 5000, rows: 1 }],
  // transfers and forwards
  [160, 'transfer', { channel: 3, path: '/srv/app.tar', direction: 'upload', bytes: 2048, sha256: SHA, outcome: 'complete' }],
  [170, 'transfer', { path: '/etc/shadow', direction: 'download', bytes: 0, sha256: null, outcome: 'blocked', reason: 'not allowed' }],
  [175, 'transfer', { path: '/x', direction: 'download', outcome: 'complete' }],
  [180, 'forward.open', { channel: 4, host: '10.0.0.5', port: 5432, origin: '127.0.0.1:50000' }],
  [190, 'forward.close', { channel: 4, bytesIn: 1500, bytesOut: 300 }],
  [200, 'forward.open', { channel: 5, host: '::1', port: 22 }],
  [210, 'session.close', { reason: 'client disconnected' }],
]);

describe('SSH channels', () => {
  const ch = sshChannels(EVENTS);

  it('lists every opening, a reused channel number as its own row, with its commands', () => {
    expect(isSsh(EVENTS)).toBe(true);
    expect(isSsh(session([[0, 'session.open', { protocol: 'postgres' }]]))).toBe(false);
    expect(ch.map((c) => [c.key, c.channel, c.kind, c.commands])).toEqual([
      [0, 0, 'exec', [1]],
      [1, 1, 'exec', [2]],
      [2, 0, 'exec', [3]],
      [3, 2, 'shell', []],
    ]);
    expect(ch[0]!.outputBytes).toBe(4 + 23); // as recorded, before the control-string filter
    expect(ch[3]!.pty).toEqual({ term: 'xterm-256color', cols: 100, rows: 30 });
    expect(ch[3]!.withheld).toBe(9);
  });

  it('says how each ended and never invents an exit status', () => {
    expect(ch.map(channelEnd)).toEqual(['exit 0', 'exit 1 (blocked)', 'exit status not recorded', 'exit status not recorded (still open at the end of the recording)']);
    expect(ch[2]!.exitStatus).toBeNull();
    expect(ch[3]!.closeT).toBeNull();
    expect(channelEnd({ closed: true, exitStatus: null, exitSignal: 'KILL' })).toBe('signal KILL');
    // A non-integer or missing status is not a status.
    expect(sshChannels(session([[0, 'channel.open', { channel: 0, kind: 'exec' }], [1, 'channel.close', { channel: 0, exitStatus: '0' }]]))[0]!.exitStatus).toBeNull();
  });
});

describe('SSH commands and markers', () => {
  const cmds = sshCommands(EVENTS);

  it('mark allowed, blocked and held → approved commands, on their channel', () => {
    expect(cmds.map((c) => [c.id, c.mark, c.held, c.channelKey])).toEqual([
      [1, 'allowed', false, 0],
      [2, 'blocked', false, 1],
      [3, 'approved', true, 2],
    ]);
    expect(cmds[1]).toMatchObject({ rule: 'ci/no-rm', reason: 'no deletes' });
    expect(cmds[2]).toMatchObject({ approvedBy: ['dana@acme.test'], decidedT: 90 });
  });

  it('put a marker for each command (blocked, held) and one when the held one was approved', () => {
    const m = commandMarkers(cmds);
    expect(m.map((x) => [x.t, x.kind])).toEqual([
      [10, 'command'],
      [50, 'block'],
      [60, 'held'],
      [90, 'approval'],
    ]);
    expect(m[1]!.label).toBe('Blocked: rm -rf /srv (channel 1) — no deletes');
    expect(m[3]!.label).toBe('Approved by dana@acme.test: systemctl restart web');
  });

  it('find the command current at the playhead', () => {
    expect([0, 10, 49, 50, 200].map((t) => currentCommand(cmds, t))).toEqual([-1, 0, 0, 1, 2]);
    // On one channel: its own commands only (key 0 is the first opening of channel 0).
    expect([0, 10, 200].map((t) => currentCommand(cmds, t, 0))).toEqual([-1, 0, 0]);
    expect([55, 200].map((t) => currentCommand(cmds, t, 2))).toEqual([-1, 2]);
  });
});

describe('transfers and forwards', () => {
  it('keep size and digest only where recorded', () => {
    expect(transfers(EVENTS)).toEqual([
      { t: 160, path: '/srv/app.tar', direction: 'upload', bytes: 2048, sha256: SHA, outcome: 'complete', channel: 3, command: null },
      { t: 170, path: '/etc/shadow', direction: 'download', bytes: 0, sha256: null, outcome: 'blocked', reason: 'not allowed', channel: null, command: null },
      { t: 175, path: '/x', direction: 'download', bytes: null, sha256: null, outcome: 'complete', channel: null, command: null },
    ]);
  });

  it('pair forward.open with its close; an unclosed forward has unknown byte counts', () => {
    const f = forwards(EVENTS);
    expect(f[0]).toMatchObject({ host: '10.0.0.5', port: 5432, origin: '127.0.0.1:50000', bytesIn: 1500, bytesOut: 300, closeT: 190 });
    expect(f[1]).toMatchObject({ host: '::1', port: 22, bytesIn: null, bytesOut: null, closeT: null });
    expect(hostPort('10.0.0.5', 5432)).toBe('10.0.0.5:5432');
    expect(hostPort('::1', 22)).toBe('[::1]:22');
  });
});

describe('login facts', () => {
  it('show the client certificate (key id, serial, CA) and the target certificate', () => {
    const c = Object.fromEntries(clientLoginFacts(EVENTS).map((f) => [f.label, f.value]));
    expect(c).toMatchObject({ Method: 'ssh-certificate', 'Certificate key id': 'bot:repo:acme/deploy', 'Certificate serial': '4242', 'CA fingerprint': 'SHA256:caFP', Principals: 'deploy', 'Critical options': 'source-address=10.0.0.0/8' });
    const t = Object.fromEntries(targetLoginFacts(EVENTS)!.map((f) => [f.label, f.value]));
    expect(t).toMatchObject({ Method: 'certificate', 'As user': 'deploy', 'Certificate key id': 'vigil:session=s1:subject=bot', 'Certificate serial': '99', 'CA fingerprint': 'SHA256:targetCA' });
    expect(t['Valid before']).toBe('not recorded');
    expect(targetLoginFacts(session([[0, 'session.open', { protocol: 'ssh' }]]))).toBeNull();
  });
});

describe('channel replay track', () => {
  it('an exec without a terminal: its own output only, line feeds shown as new lines, control strings removed', () => {
    const t = channelTrack(EVENTS, 0);
    expect(t.pty).toBe(false);
    expect([t.cols, t.rows]).toEqual([80, 24]);
    expect(t.chunks.map(dec).join('')).toBe('one\r\ntwo\r\nx\r\n');
    expect(t.times).toEqual([20, 30]);
    expect(t.neutralised).toMatch(/clipboard|OSC 52/);
    expect(t.duration).toBe(sessionDuration(EVENTS));
    // The reused number 0 is another channel: the held command's, which wrote nothing.
    expect(channelTrack(EVENTS, 2).chunks).toEqual([]);
  });

  it('a shell with a pty: the recorded size, then each real resize (clamped), at its place between chunks', () => {
    const t = channelTrack(EVENTS, 3);
    expect(t.pty).toBe(true);
    expect([t.cols, t.rows, t.term]).toEqual([100, 30, 'xterm-256color']);
    expect(t.chunks.map(dec)).toEqual(['$ ', 'ls\r\n']);
    expect(t.resizes).toEqual([
      { index: 1, t: 120, cols: 120, rows: 40 },
      { index: 2, t: 150, cols: 500, rows: 4 },
    ]);
    expect(sizeAt(t, 0)).toEqual({ cols: 100, rows: 30 });
    expect(sizeAt(t, 1)).toEqual({ cols: 120, rows: 40 });
    expect(sizeAt(t, 2)).toEqual({ cols: 500, rows: 4 });
  });
});

describe('channel asciicast', () => {
  const dir = tempDir('vigil-ssh-cast-');

  it('has the channel size, output and resize events, and plays in the real asciinema', () => {
    const cast = channelAsciicast(EVENTS, 3, { seq: 7, sessionId: 'abc', startedAt: '2026-12-03T07:00:00Z', identity: 'bot', target: 'web', channel: 2 });
    const [head, ...lines] = cast.trimEnd().split('\n');
    expect(JSON.parse(head!)).toMatchObject({ version: 2, width: 100, height: 30, timestamp: 1796281200, env: { TERM: 'xterm-256color' }, vigil: { session_id: 'abc', channel: 2 } });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      [0.11, 'o', '$ '],
      [0.12, 'r', '120x40'],
      [0.13, 'o', 'ls\r\n'],
      [0.15, 'r', '500x4'],
    ]);
    const file = join(dir, channelCastFileName(7, 'abc', 2, 3));
    expect(file).toMatch(/session-7-abc-channel-2-3\.cast$/);
    writeFileSync(file, cast);
    const cat = asciinema(['cat', file]);
    expect(cat.status, cat.stderr).toBe(0);
    expect(cat.stdout).toBe('$ ls\r\n');
    const play = asciinema(['play', '-s', '10', file]);
    expect(play.status, play.stderr).toBe(0);
    expect(play.stdout).toContain('$ ls');
  });

  it('an exec channel plays with its line feeds as the client saw them', () => {
    const cast = channelAsciicast(EVENTS, 0, { seq: 7, sessionId: 'abc', channel: 0, command: 'echo one; echo two' });
    expect(JSON.parse(cast.split('\n')[0]!)).toMatchObject({ width: 80, height: 24, title: expect.stringContaining('channel 0: echo one; echo two') });
    const file = join(dir, 'exec.cast');
    writeFileSync(file, cast);
    expect(asciinema(['cat', file]).stdout).toBe('one\r\ntwo\r\nx\r\n');
  });
});
