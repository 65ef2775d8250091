import { describe, expect, it } from 'vitest';
import { isPasswordPrompt, lastLine, OutputWatch } from '../../../../appliance/protocols/ssh/password-prompt.ts';
import { TypedLine } from '../../../../appliance/protocols/ssh/typed-line.ts';

const enter = (input: string) => {
  const t = new TypedLine();
  const keys = t.push(Buffer.from(input, 'utf8'));
  const e = keys.find((k) => k.kind === 'enter');
  if (!e || e.kind !== 'enter') throw new Error('no enter');
  return e.line;
};

describe('typed line reconstruction', () => {
  it('follows printable text, backspace/DEL, Ctrl-U, Ctrl-W and Ctrl-C', () => {
    expect(enter('ls -l\r')).toEqual({ text: 'ls -l', known: true });
    expect(enter('lx\x7fs\r').text).toBe('ls');
    expect(enter('rm x\x15echo ok\r').text).toBe('echo ok');
    expect(enter('echo a bcd\x17e\r').text).toBe('echo a e');
    expect(enter('rm -rf /\x03echo hi\r').text).toBe('echo hi');
    expect(enter('caf\u00e9\x7f\x7fe\r').text).toBe('cae');
  });

  it('takes a bracketed paste literally, newlines included', () => {
    expect(enter('\x1b[200~echo a\recho b\x1b[201~\r')).toEqual({ text: 'echo a\necho b', known: true });
  });

  it('marks the line unknown after arrow keys, Tab or history, until Enter or Ctrl-C', () => {
    expect(enter('\x1b[A\r')).toMatchObject({ known: false, why: 'arrow keys (cursor or history)' });
    expect(enter('ls /e\t\r')).toMatchObject({ known: false, why: 'tab completion' });
    expect(enter('\x12touch\r')).toMatchObject({ known: false });
    expect(enter('x\x1b[Dy\x15\r')).toMatchObject({ known: false });
    expect(enter('\x1b[A\x03ls\r')).toEqual({ text: 'ls', known: true });
  });

  it('keeps an escape sequence split across reads', () => {
    const t = new TypedLine();
    t.push(Buffer.from('ls\x1b'));
    t.push(Buffer.from('['));
    const keys = t.push(Buffer.from('C\r'));
    expect(keys.at(-1)).toMatchObject({ kind: 'enter', line: { known: false } });
  });

  it('cuts the forwarded bytes at each Enter', () => {
    const keys = new TypedLine().push(Buffer.from('a\rb\r'));
    expect(keys.map((k) => k.kind)).toEqual(['bytes', 'enter', 'bytes', 'enter']);
  });
});

describe('password prompt detection', () => {
  it('knows sudo, su, passwd and ssh prompts', () => {
    for (const p of ['[sudo] password for deploy: ', 'Password: ', 'New password: ', 'Retype new password: ', "Enter passphrase for key '/root/.ssh/id': ", 'Current password:']) expect(isPasswordPrompt(p), p).toBe(true);
  });
  it('does not take a shell prompt or ordinary output for one', () => {
    for (const p of ['deploy@web:~$ ', 'password reset done', 'Passwords: 3 changed\n', '# ']) expect(isPasswordPrompt(lastLine(p)), p).toBe(false);
  });
  it('reads the last line without colours and follows the alternate screen', () => {
    const w = new OutputWatch();
    w.push(Buffer.from('ok\r\n\x1b[1m[sudo] password for x:\x1b[0m '));
    expect(w.prompting).toBe(true);
    w.push(Buffer.from('\r\n\x1b[?1049h'));
    expect(w.alternateScreen).toBe(true);
    expect(w.prompting).toBe(false);
    w.push(Buffer.from('\x1b[?1049l$ '));
    expect(w.alternateScreen).toBe(false);
  });
});
