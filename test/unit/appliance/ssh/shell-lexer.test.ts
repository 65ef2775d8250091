import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lexShell, type SimpleCommand } from '../../../../appliance/protocols/ssh/shell-lexer.ts';
import { bashParses, sandbox, shellWords, type Sandbox } from './shell-oracle.ts';

function commands(line: string): SimpleCommand[] {
  const r = lexShell(line);
  if (!r.ok) throw new Error(`${JSON.stringify(line)} did not lex: ${r.code} ${r.message}`);
  return r.commands;
}

/** Literal words, one simple command: our argv must be exactly what bash (and dash, unless bash-only) makes of it. */
const LITERAL: [line: string, bashOnly?: boolean][] = [
  ['rm -rf /'],
  ['r""m -rf /'],
  ['\\rm -rf /'],
  ["'r'm -rf /"],
  [`"r"'m' x`],
  ['r\\m x'],
  ['r\\\nm x'],
  ['"r\\\nm" x'],
  ['"a\\"b" \'c\\\''],
  ['"\\$HOME" "\\`id\\`" "a\\\\b" "a\\b" "a\\nb"'],
  ["'a\\nb' 'it'\\''s'"],
  ['a\\ b "x  y"   z'],
  ['"a\nb" c'],
  ['echo a #comment rm'],
  ['echo \\#not-a-comment x#y'],
  ['a$ b "$" $'],
  ['[ -f x ] foo{bar} {} , a]b a~b'],
  ['find . -exec rm {} \\;'],
  ['printf "%s\\n" "é ünï 中文" \'tab\tx\''],
  ['x\\'],
  ["$'\\x72\\x6d' -rf", true],
  ["$'a\\'b' $'\\101\\u0041\\t\\n' $'\\cA\\e'", true],
  ["$'r''m' $'\\x41\\x4' $'\\q'", true],
];

describe('literal words agree with the real shell', () => {
  it.each(LITERAL)('%j', (line, bashOnly) => {
    const cmds = commands(line);
    expect(cmds).toHaveLength(1);
    const argv = cmds[0]!.argv;
    expect(argv.every((w) => w.literal)).toBe(true);
    const ours = argv.map((w) => w.value);
    expect(ours).toEqual(shellWords('bash', line));
    if (!bashOnly) expect(ours).toEqual(shellWords('dash', line));
  });
});

describe('words marked non-literal are indeed changed by the shell', () => {
  let dir: string;
  beforeAll(() => {
    const box = sandbox();
    dir = join(box.dir, 'glob');
    mkdirSync(dir);
    for (const f of ['abc', 'a1']) writeFileSync(join(dir, f), '');
  });
  const env = { x: 'VAL', HOME: '/home/vigil-test' };
  it.each(["$'\\u00e9'", '$x', '"$x"', '${x}', '${x:-d}', 'a*', 'a?c', '[a]bc', '~', '~/q', '{a,b}', 'a{1..2}', '$(printf y)', '`printf y`', '"$(printf y)"', '$((1+1))', '$#', "$'\\xff'", '<(true)'])(
    '%s',
    (word) => {
      const cmds = commands(`echo ${word}`);
      const w = cmds[cmds.length - 1]!.argv[1]!;
      expect(w.literal).toBe(false);
      const real = shellWords('bash', word, dir, env);
      expect(real.join(' ')).not.toBe(w.raw);
    },
  );
});

describe('simple commands: every command bash runs is one we list, with the same argv', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => box.close());
  // Each line runs in bash with an empty PATH: commands are recorded, not run. Only external names here
  // (builtins such as echo never reach the recorder), and `||` is avoided (the recorder succeeds).
  it.each([
    'ls;rm -rf /nonexistent-vigil',
    'ls&&rm x',
    'ls\nrm x\n\nfoo y',
    'cat x|sh',
    'cat x |& rm y',
    'foo & rm x & ls',
    '(rm a; (ls b)) | cat',
    '{ rm a; ls; } > out',
    'cat <<EOF\n$(rm in-heredoc)\nEOF',
    "cat <<'EOF'\n$(rm not-run)\nEOF\nls",
    'cat <<-EOF; rm after\n\t$(ls x)\n\tEOF',
    'ls $(rm x; cat y) `foo z`',
    'ls "$(rm "a b")"',
    'ls $(( $(rm n) + 1 ))',
    'ls ${x:-$(rm dflt)}',
    'cat <(rm p) >(ls q)',
    'if foo; then rm a; else ls b; fi',
    'while foo; do rm a; break; done',
    'for x in a b; do rm y; done',
    'case a in a|b) rm x;; (c) ls;; esac',
    'case a in *) rm "$(foo)";; esac',
    '[[ -n $(rm c) ]] && ls',
    'f() { rm a; }; f',
    'A=1 B=2 rm x',
    'ls # ; rm comment',
    '! rm x',
    'time rm x',
    'rm a 2>&1 >/dev/null </dev/null',
    'foo $((1+2)) && rm $((3))',
    '$(echo rm) x',
  ])('%j', (line) => {
    const ours = commands(line);
    const real = box.executed(line);
    expect(real.length).toBeGreaterThan(0);
    // Every command bash ran, we list; where the command word is literal, with the very same argv.
    const literal = ours.filter((c) => c.argv.length > 0 && c.argv.every((w) => w.literal)).map((c) => c.argv.map((w) => w.value));
    const anyNonLiteral = ours.some((c) => c.argv.some((w) => !w.literal));
    for (const argv of real) {
      const same = literal.some((a) => JSON.stringify(a) === JSON.stringify(argv));
      if (!same) {
        // Then a command of ours has a non-literal word (its argv is known only at run time) and the same name
        // or a non-literal name.
        expect(anyNonLiteral, `bash ran ${JSON.stringify(argv)}, we list ${JSON.stringify(ours.map((c) => c.argv.map((w) => w.raw)))}`).toBe(true);
        expect(ours.some((c) => c.argv[0] && (!c.argv[0].literal || c.argv[0].value === argv[0]))).toBe(true);
      }
    }
  });
});

describe('structure', () => {
  it('tells pipes, background, subshells and substitutions apart', () => {
    const c = commands('a | b & c; (d) ; e $(f | g)');
    const by = (n: string) => c.find((x) => x.argv[0]?.value === n)!.context;
    expect(by('a')).toMatchObject({ pipe: true, background: true });
    expect(by('b')).toMatchObject({ pipe: true, background: true });
    expect(by('c')).toMatchObject({ pipe: false, background: false });
    expect(by('d')).toMatchObject({ subshell: true, pipe: false });
    expect(by('e')).toMatchObject({ substitution: false, pipe: false });
    expect(by('f')).toMatchObject({ substitution: true, pipe: true });
  });

  it('keeps assignments apart from argv and reads redirections and here-documents', () => {
    const [c] = commands("FOO=1 BAR='x y' cmd 2>err <<'E' >>out\nbody $(x)\nE");
    expect(c!.assignments.map((w) => w.value)).toEqual(['FOO=1', 'BAR=x y']);
    expect(c!.argv.map((w) => w.value)).toEqual(['cmd']);
    expect(c!.redirects.map((r) => [r.fd, r.op, r.target.value])).toEqual([
      ['2', '>', 'err'],
      [undefined, '<<', 'E'],
      [undefined, '>>', 'out'],
    ]);
    expect(c!.redirects[1]!.heredoc).toEqual({ delimiter: 'E', quoted: true, body: 'body $(x)\n' });
  });

  it('reports the features used', () => {
    const r = lexShell("a 'b' \"$c\" | d && e <<< x; f `g` $((1)) <(h) &");
    expect(r.ok && r.features).toEqual(
      expect.arrayContaining(['single-quote', 'double-quote', 'parameter-expansion', 'pipe', 'and-or', 'herestring', 'sequence', 'backtick', 'arithmetic', 'process-substitution', 'background']),
    );
  });
});

describe('what bash refuses, the lexer refuses', () => {
  it.each([
    "echo 'a",
    'echo "a',
    'echo $(ls',
    'echo `ls',
    'echo ${x',
    'echo $((1+',
    "echo $'a",
    '; rm x',
    'rm x |',
    'rm x &&',
    '| sh',
    '(rm x',
    'rm x )',
    'rm x;;',
    'rm (x)',
    'case a in a) rm',
    'rm >',
    'echo "$(ls \')"',
    '(echo rm) -rf /',
    '{ ls; } x',
    'case a in a) ls;; esac x',
    'if true; then ls; fi rm',
    '((1)) rm',
  ])('%j', (line) => {
    expect(bashParses(line)).toBe(false);
    const r = lexShell(line);
    expect(r.ok).toBe(false);
  });
});

describe('input limits', () => {
  it('refuses NUL, invalid UTF-8, lone surrogates, U+FFFD and over-long lines', () => {
    expect(lexShell('rm\0 x')).toMatchObject({ ok: false, code: 'shell.nul' });
    expect(lexShell(new Uint8Array([0x72, 0x6d, 0x20, 0xff]))).toMatchObject({ ok: false, code: 'shell.invalid-utf8' });
    expect(lexShell(new Uint8Array([0x72, 0x6d, 0x00]))).toMatchObject({ ok: false, code: 'shell.nul' });
    expect(lexShell('rm \ud800')).toMatchObject({ ok: false, code: 'shell.invalid-utf8' });
    expect(lexShell('rm \ufffd')).toMatchObject({ ok: false, code: 'shell.invalid-utf8' });
    expect(lexShell('a'.repeat(64 * 1024 + 1))).toMatchObject({ ok: false, code: 'shell.too-long' });
    expect(lexShell('é'.repeat(32 * 1024 + 1))).toMatchObject({ ok: false, code: 'shell.too-long' });
    expect(lexShell(new TextEncoder().encode('rm -rf /'))).toMatchObject({ ok: true });
  });

  it('bounds nesting and the number of commands', () => {
    expect(lexShell('$('.repeat(40) + 'rm' + ')'.repeat(40))).toMatchObject({ ok: false, code: 'shell.too-deep' });
    expect(lexShell('$('.repeat(10) + 'rm' + ')'.repeat(10))).toMatchObject({ ok: true });
    expect(lexShell('a;'.repeat(2000))).toMatchObject({ ok: false, code: 'shell.too-many' });
  });
});
