import { describe, expect, it } from 'vitest';
import { execFacts } from '../../../../appliance/protocols/ssh/exec-facts.ts';
import { detectScp } from '../../../../appliance/protocols/ssh/scp-command.ts';
import { parseScpLine, ScpProtocolError, sourceName, statusLine } from '../../../../appliance/protocols/ssh/scp-protocol.ts';

const detect = (line: string) => detectScp(line, execFacts(line));

describe('scp control lines', () => {
  it('reads the lines OpenSSH sends', () => {
    expect(parseScpLine(Buffer.from('C0644 12 a b.txt'))).toEqual({ kind: 'file', mode: '0644', size: 12, name: 'a b.txt' });
    expect(parseScpLine(Buffer.from('D0755 0 dir'))).toEqual({ kind: 'dir', mode: '0755', name: 'dir' });
    expect(parseScpLine(Buffer.from('E'))).toEqual({ kind: 'end-dir' });
    expect(parseScpLine(Buffer.from('T1700000000 0 1700000001 0'))).toEqual({ kind: 'times' });
    expect(parseScpLine(Buffer.from('\x01scp: /x: No such file or directory'))).toEqual({ kind: 'message', fatal: false, message: 'scp: /x: No such file or directory' });
  });

  it.each([
    ['C644 1 a', 'malformed'],
    ['C0644 1  a', undefined],
    ['C0644 -1 a', 'malformed'],
    ['C0644 99999999999999999 a', 'malformed'],
    ['C0644 1 ..', 'would refuse'],
    ['C0644 1 .', 'would refuse'],
    ['C0644 1 a/b', 'slash'],
    ['C0644 1 a\tb', 'control characters'],
    ['C0648 1 a', 'malformed'],
    ['Ex', 'malformed'],
    ['X', 'unknown'],
    ['T1 2 3', 'malformed'],
  ])('refuses %j', (line, why) => {
    if (why === undefined) {
      // A name that starts with a space is a real (odd) file name: passed on as it is.
      expect(parseScpLine(Buffer.from(line))).toMatchObject({ kind: 'file', name: ' a' });
      return;
    }
    expect(() => parseScpLine(Buffer.from(line))).toThrow(ScpProtocolError);
    expect(() => parseScpLine(Buffer.from(line))).toThrow(new RegExp(why));
  });

  it('refuses a name that is not UTF-8', () => {
    expect(() => parseScpLine(Buffer.concat([Buffer.from('C0644 1 a'), Buffer.from([0xff])]))).toThrow(/not valid UTF-8/);
  });

  it('names a source path as OpenSSH does, and writes status lines on one line', () => {
    expect(sourceName('/a/b/')).toBe('b');
    expect(sourceName('b')).toBe('b');
    expect(sourceName('/')).toBe(''); // OpenSSH names `/` with an empty name, which every receiver refuses
    expect(statusLine(false, 'two\nlines')).toEqual(Buffer.from('\x01two lines\n'));
  });
});

describe('recognising scp -t / scp -f', () => {
  it('reads the commands OpenSSH scp -O sends', () => {
    expect(detect('scp -t /tmp/x')).toEqual({ scp: true, server: { mode: 'sink', recursive: false, preserve: false, targetIsDirectory: false, paths: ['/tmp/x'] } });
    expect(detect('scp -v -r -p -d -t -- -odd')).toMatchObject({ server: { mode: 'sink', recursive: true, preserve: true, targetIsDirectory: true, paths: ['-odd'] } });
    expect(detect("scp -f '/a b' /c")).toMatchObject({ server: { mode: 'source', paths: ['/a b', '/c'] } });
    expect(detect('/usr/bin/scp -rf /c')).toMatchObject({ server: { mode: 'source', recursive: true } });
  });

  it('leaves other commands alone', () => {
    expect(detect('ls -tf')).toEqual({ scp: false });
    expect(detect('scp -F cfg a host:b')).toEqual({ scp: false });
  });

  it.each([
    ['scp -f /tmp/*.txt', 'wildcard'],
    ['scp -f $HOME/x', 'wildcard'],
    ["sh -c 'scp -t /x'", 'behind another command'],
    ['sudo scp -t /x', 'behind another command'],
    ['scp -t /x; rm -rf /', 'plain'],
    ['scp -t /x > /dev/null', 'without redirections'],
    ['scp -t /x /y', 'exactly one'],
    ['scp -t -f /x', 'either'],
    ['scp -f', 'names no file'],
    ['scp -t -S prog /x', 'does not relay'],
  ])('refuses %j', (line, why) => {
    const d = detect(line);
    expect(d).toMatchObject({ scp: true, refusal: { rule: 'vigil/ssh-scp-unreadable' } });
    expect((d as { refusal: { reason: string } }).refusal.reason).toMatch(new RegExp(why));
  });
});
