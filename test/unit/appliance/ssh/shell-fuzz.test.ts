import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFacts } from '../../../../appliance/protocols/ssh/exec-facts.ts';
import { lexShell } from '../../../../appliance/protocols/ssh/shell-lexer.ts';
import { prng } from '../../../helpers/seeded-random.ts';
import { sandbox, type Sandbox } from './shell-oracle.ts';


const CHARS = ['a', 'r', 'm', ' ', ' ', "'", '"', '\\', '$', '(', ')', '`', '{', '}', ';', '&', '|', '<', '>', '\n', '#', '*', '=', '-', '\t', 'é', '~', '[', ']', ',', '!', '0', '2'];
const TOKENS = ['rm', 'sh -c', 'sudo', 'env -i', 'xargs', '$(', '$((', '${', '<<E', '<<-E', 'E', '<<<', '<(', ';;', 'case', 'in', 'esac', 'if', 'then', 'fi', 'for', 'do', 'done', "$'", '$"', '&&', '||', '|&', '[[', ']]', '\\\n'];

function randomLine(next: () => number, max: number): string {
  const n = Math.floor(next() * max);
  let s = '';
  for (let k = 0; k < n; k++) s += next() < 0.7 ? CHARS[Math.floor(next() * CHARS.length)]! : TOKENS[Math.floor(next() * TOKENS.length)]!;
  return s;
}

describe('fuzz: never throws, always bounded', () => {
  it('random lines give facts (or one unparsable fact) quickly', () => {
    const next = prng(0x5eed_0010);
    const started = performance.now();
    let slowest = 0;
    for (let k = 0; k < 4000; k++) {
      const line = randomLine(next, 80);
      const t = performance.now();
      const lex = lexShell(line);
      const fs = execFacts(line);
      slowest = Math.max(slowest, performance.now() - t);
      expect(typeof lex.ok).toBe('boolean');
      // No facts only when nothing runs (blank or comment only).
      if (fs.length === 0) expect(lex.ok && lex.commands.length === 0, JSON.stringify(line)).toBe(true);
      for (const f of fs) {
        expect(f.class).toBe('exec');
        expect(typeof f.command).toBe('string');
      }
      if (!lex.ok) expect(fs).toEqual([expect.objectContaining({ tags: ['unparsable'] })]);
    }
    expect(slowest).toBeLessThan(250);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('pathological 64 KiB lines finish in bounded time', () => {
    const near = 64 * 1024 - 16;
    const fill = (unit: string) => unit.repeat(Math.floor(near / unit.length));
    for (const line of [
      fill('$(('),
      fill('(('),
      fill('$( ('),
      fill('$((('),
      fill('`'),
      fill('${'),
      fill('"$('),
      fill('a|'),
      fill('<<E '),
      fill('<<E\n'),
      fill("$'\\x"),
      fill('\\\n'),
      fill('(( 1 ) '),
      fill('$(( ( 1 ) ) '),
      fill('sh -c '),
      fill('sudo '),
      fill('a '),
      fill('case a in a) '),
    ]) {
      const t = performance.now();
      const fs = execFacts(line);
      const lex = lexShell(line);
      if (fs.length === 0) expect(lex.ok && lex.commands.length === 0).toBe(true);
      expect(performance.now() - t, JSON.stringify(line.slice(0, 12))).toBeLessThan(2_000);
    }
  });
});

describe('fuzz against bash: every command bash runs is one we list', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => box.close());
  // Lines of external command names, quoting, operators, compound commands, here-documents and
  // substitutions; run by bash in an empty PATH, where the commands are recorded, not run. No `while` (the
  // recorder succeeds: it would never end), no slashes (an absolute path would run for real), no builtins
  // that run a command (`command`, `eval`: their facts see through them, the lexer lists them as written).
  const WORDS = ['rm', 'x', '-rf', '"a b"', "'c d'", '\\rm', 'r""m', "'r'm", '"$v"', '${v:-d}', '$((1+2))', '#c', '>o', '2>&1', '"a\\"b"', "a\\'b", '"\\$x"', "$'\\x41b'", '"a\\\\b"', '\\\\', 'é', '"`printf q`"', 'a=b', '{x,y}', '"{x,y}"', '[ab]', "'*'", '\\*', 'x\\\ny', '"x\ny"', '"${v:-$(printf z)}"', '<<<w', "$'a\\'b'", '$"loc"'];
  const OPS = [';', '&&', '|', '&', '\n', '|&', ';\n'];
  function line(next: () => number): string {
    const pick = <T,>(a: T[]) => a[Math.floor(next() * a.length)]!;
    const command = (d: number): string => {
      const r = next();
      if (d < 2 && r < 0.08) return `$(${list(d + 1)})`;
      if (d < 2 && r < 0.14) return `( ${list(d + 1)} )`;
      if (d < 2 && r < 0.18) return `{ ${list(d + 1)}; }`;
      if (d < 2 && r < 0.22) return `if ${list(d + 1)}; then ${list(d + 1)}; else ${list(d + 1)}; fi`;
      if (d < 2 && r < 0.25) return `for i in 1 2; do ${list(d + 1)}; done`;
      if (d < 2 && r < 0.28) return `case q in q|r) ${list(d + 1)};; *) ls;; esac`;
      if (d < 2 && r < 0.31) return `cat <<${pick(['E', "'E'", '"E"', '\\E'])}\n${pick(['$(ls in)', 'plain', '`cat bt`', '\\$(no)'])}\nE\n`;
      if (d < 2 && r < 0.34) return `ls "\`${list(d + 1).replace(/[`"\\$]/g, '')}\`"`;
      if (d < 2 && r < 0.37) return `cat <(${list(d + 1)})`;
      if (d < 2 && r < 0.4) return `ls $(( $(${list(d + 1)}) ))`;
      if (d < 2 && r < 0.42) return `f() { ${list(d + 1)}; }; f`;
      const n = 1 + Math.floor(next() * 5);
      const ws = [pick(['rm', 'ls', 'cat', 'foo', '\\rm', 'r""m', "'l's", 'A=1 rm', "$'r'm", '! rm', 'time rm', 'ls | time rm'])];
      for (let k = 1; k < n; k++) ws.push(pick(WORDS));
      return ws.join(' ');
    };
    const list = (d: number): string => {
      let s = command(d);
      const n = Math.floor(next() * 3);
      for (let k = 0; k < n; k++) s += ` ${pick(OPS)} ${command(d)}`;
      return s.replace(/[&|;\s]+$/, '');
    };
    return list(0);
  }

  it('300 generated lines', () => {
    const next = prng(0xba5_0001);
    let compared = 0;
    for (let k = 0; k < 300; k++) {
      const l = line(next);
      const lex = lexShell(l);
      if (!lex.ok) continue; // fail closed: nothing runs through Vigil
      compared++;
      const literal = lex.commands.filter((c) => c.argv.length > 0 && c.argv.every((w) => w.literal)).map((c) => JSON.stringify(c.argv.map((w) => w.value)));
      for (const argv of box.executed(l)) {
        // Bash ran exactly a command we list, or one of ours has a word known only at run time and the same
        // (or a non-literal) name.
        if (literal.includes(JSON.stringify(argv))) continue;
        const opaque = lex.commands.some((c) => c.argv.some((w) => !w.literal) && c.argv[0] !== undefined && (!c.argv[0].literal || c.argv[0].value === argv[0]));
        expect(opaque, `${JSON.stringify(l)}: bash ran ${JSON.stringify(argv)}`).toBe(true);
      }
    }
    // The generator writes valid lines: the comparison must not be vacuous.
    expect(compared).toBeGreaterThan(200);
  });
});
