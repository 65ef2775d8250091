import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFacts } from '../../../../appliance/protocols/ssh/exec-facts.ts';
import { lexShell } from '../../../../appliance/protocols/ssh/shell-lexer.ts';
import { sandbox, type Sandbox } from './shell-oracle.ts';

/** mulberry32: a small seeded PRNG, so a failure replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
  // Lines of external command names, quoting, operators and substitutions; run by bash in an empty PATH,
  // where the commands are recorded, not run. No `while` (the recorder succeeds: it would never end), no
  // slashes (an absolute path would run for real), no function definitions.
  const WORDS = ['rm', 'ls', 'cat', 'x', '-rf', '"a b"', "'c'", '\\rm', 'r""m', "'r'm", '$v', '"$v"', '${v:-d}', '$((1+2))', '#c', '>o', '2>&1', '<o'];
  const OPS = [';', '&&', '||', '|', '&', '\n', '|&'];
  function line(next: () => number): string {
    const pick = <T,>(a: T[]) => a[Math.floor(next() * a.length)]!;
    const command = (depth: number): string => {
      const r = next();
      if (depth < 2 && r < 0.12) return `$(${list(depth + 1)})`;
      if (depth < 2 && r < 0.2) return `( ${list(depth + 1)} )`;
      if (depth < 2 && r < 0.26) return `{ ${list(depth + 1)}; }`;
      if (depth < 2 && r < 0.3) return `if ${list(depth + 1)}; then ${list(depth + 1)}; fi`;
      if (depth < 2 && r < 0.34) return `for i in 1 2; do ${list(depth + 1)}; done`;
      if (depth < 2 && r < 0.38) return `cat <(${list(depth + 1)})`;
      if (depth < 2 && r < 0.42) return `ls "\`${list(depth + 1)}\`"`;
      const n = 1 + Math.floor(next() * 4);
      const ws = [pick(['rm', 'ls', 'cat', 'foo', '\\rm', 'r""m', "'l's"])];
      for (let k = 1; k < n; k++) ws.push(pick(WORDS));
      return ws.join(' ');
    };
    const list = (depth: number): string => {
      let s = command(depth);
      const n = Math.floor(next() * 3);
      for (let k = 0; k < n; k++) s += ` ${pick(OPS)} ${command(depth)}`;
      return s.replace(/[&|;]\s*$/, '');
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
      const names = lex.commands.map((c) => c.argv[0]).filter((w) => w !== undefined);
      const opaque = names.some((w) => !w.literal);
      for (const argv of box.executed(l)) {
        expect(opaque || names.some((w) => w.value === argv[0]), `${JSON.stringify(l)}: bash ran ${JSON.stringify(argv)}`).toBe(true);
      }
    }
    // The generator writes valid lines: the comparison must not be vacuous.
    expect(compared).toBeGreaterThan(250);
  });
});
