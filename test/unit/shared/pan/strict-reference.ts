/**
 * Strict mode written the slow, obvious way (whole input split into characters, groups, links and chains
 * up front) to check the streaming lexers and strict-chain.ts against. Character classes, brands, the IBAN and
 * UUID tests and the track syntax are shared: what this checks is how chains, windows and matches are formed.
 */
import { afterUuidGroup } from '../../../../shared/pan/boundary.ts';
import { brandOf, luhnValid, type CardBrand, type CardDataMatch } from '../../../../shared/pan/index.ts';
import { validIbanEnd } from '../../../../shared/pan/iban.ts';
import { BMP_CLASS, ESCAPE, escapeClass, OTHER, WS_H, WS_V } from '../../../../shared/pan/strict-classes.ts';
import { track1At, track2At } from '../../../../shared/pan/track.ts';
import { astralDigitValue } from '../../../../shared/pan/unicode-digits.ts';

interface Ch {
  cls: number;
  start: number;
  end: number;
  code: number;
}

function chars(t: string): Ch[] {
  const out: Ch[] = [];
  for (let p = 0; p < t.length; ) {
    const c = t.charCodeAt(p);
    const cp = t.codePointAt(p)!;
    const len = cp > 0xffff ? 2 : 1;
    let cls = cp > 0xffff ? astralDigitValue(cp) : BMP_CLASS[c]!;
    if (cls < 0) cls = OTHER;
    let end = p + len;
    if (cls === ESCAPE) {
      const e = escapeClass(t.charCodeAt(p + 1));
      cls = e === 0 ? 0x5c : e;
      if (e !== 0) end++;
    }
    out.push({ cls, start: p, end, code: c });
    p = end;
  }
  return out;
}

const isDigitCls = (cls: number) => cls <= 9;

/** The link kind between two groups from the characters between them, or 0 when they do not join. */
function linkKind(between: Ch[]): number {
  let punct = 0;
  let space = 0;
  for (const ch of between) {
    if (ch.cls === WS_V) space = 2;
    else if (ch.cls === WS_H) space = space || 1;
    else if (ch.cls >= 0x21 && punct === 0) punct = ch.cls;
    else return 0;
  }
  return punct || space;
}

function ascii(t: string): Uint8Array {
  return Uint8Array.from({ length: t.length }, (_, k) => Math.min(t.charCodeAt(k), 0x80));
}

export function referenceStrict(t: string): CardDataMatch[] {
  const cs = chars(t);
  const w = ascii(t);
  const n = w.length;
  // Groups: maximal runs of digit characters, split where the run switches between ASCII and other digits.
  const groups: [number, number][] = [];
  const glued: boolean[] = []; // glued[g]: group g continues group g-1's run
  for (let i = 0; i < cs.length; ) {
    if (!isDigitCls(cs[i]!.cls)) {
      i++;
      continue;
    }
    let j = i;
    let script = -1;
    let from = i;
    for (; j < cs.length && isDigitCls(cs[j]!.cls); j++) {
      const sc = cs[j]!.code < 0x80 ? 0 : 1;
      if (script >= 0 && sc !== script) {
        glued.push(from !== i);
        groups.push([from, j]);
        from = j;
      }
      script = sc;
    }
    glued.push(from !== i);
    groups.push([from, j]);
    i = j;
  }
  const GLUE = -1;
  const links = groups.slice(1).map((g, k) => (glued[k + 1] ? GLUE : linkKind(cs.slice(groups[k]![1], g[0]))));
  const out: CardDataMatch[] = [];
  // Each PAN (with its track, if any) merges into the match before when they overlap, a track absorbing it.
  const found = (s: number, e: number, brand: CardBrand, pan: boolean) => {
    const prev = out.at(-1);
    const before = prev !== undefined && prev.end > s ? out.at(-2) : prev;
    const floor = before === undefined ? 0 : before.end;
    const next = [...t.slice(s, e)].every((ch) => ch.charCodeAt(0) < 0x80) ? w[e] : -1;
    const track = next === 0x3d ? track2At(w, n, s, e, floor) : next === 0x5e && w[s - 1] === 0x42 ? track1At(w, n, s, e, floor) : undefined;
    if (!track && !pan) return;
    const kind: CardDataMatch['kind'] = track ? (next === 0x3d ? 'track2' : 'track1') : 'pan';
    const start = track ? track.start : s;
    const end = track ? track.end : e;
    if (prev && start < prev.end) {
      prev.end = Math.max(prev.end, end);
      if (kind !== 'pan') {
        prev.kind = kind;
        prev.brand = undefined;
      }
      prev.start = Math.min(prev.start, start);
      // Reaching back can touch earlier matches: merge them all.
      while (out.length > 1 && out.at(-2)!.end > out.at(-1)!.start) {
        const m = out.pop()!;
        const p = out.at(-1)!;
        p.start = Math.min(p.start, m.start);
        p.end = Math.max(p.end, m.end);
        if (m.kind !== 'pan') {
          p.kind = m.kind;
          p.brand = undefined;
        }
      }
    } else out.push({ start, end, kind, brand: kind === 'pan' ? brand : undefined });
  };
  // Chains: maximal runs of groups whose links have one kind; where the kind changes, the next chain starts
  // with the run (groups glued together) before the change.
  for (let a = 0; a < groups.length; ) {
    let kind = 0;
    let b = a;
    for (; b < links.length && links[b] !== 0; b++) {
      const l = links[b]!;
      if (l === GLUE) continue;
      if (kind === 0) kind = l;
      else if (l !== kind) break;
    }
    const decimal = chain(groups.slice(a, b + 1), kind);
    if (b < links.length && links[b] !== 0 && !decimal) {
      let r = b;
      while (links[r - 1] === GLUE) r--;
      a = r;
    } else a = b + 1;
  }

  /** Finds the chain's PANs; says whether it is a decimal number (whose fraction no other chain takes). */
  function chain(gs: [number, number][], kind: number): boolean {
    const digits: Ch[] = [];
    const starts = new Set<number>();
    for (const [i, j] of gs) {
      starts.add(digits.length);
      digits.push(...cs.slice(i, j));
    }
    const last = gs.at(-1)!;
    // A float: d.ddd followed by e, exponent 11–18.
    const after = cs[last[1]];
    if (after && (after.code | 0x20) === 0x65) {
      const m = /^e\+?([0-9]{1,3})(?![0-9])/i.exec(t.slice(after.start));
      const shaped = (gs.length === 1 && digits.length === 1) || (gs.length === 2 && kind === 0x2e && gs[0]![1] - gs[0]![0] === 1 && digits[1]!.start - digits[0]!.end === 1);
      if (m && shaped && digits.length <= 21 && Number(m[1]) >= 11 && Number(m[1]) <= 18) {
        const total = Number(m[1]) + 1;
        const written = Math.min(digits.length, total);
        const ds = digits.slice(0, written).map((d) => d.cls);
        {
          const str = ds.join('') + '0'.repeat(total - written);
          const brand = brandOf(str);
          if (brand && luhnValid(str)) {
            found(digits[0]!.start, written < total - 4 ? after.start + m[0].length : digits[written - 1]!.end, brand, true);
            return false;
          }
        }
      }
    }
    const k = digits.length;
    const groupCount = gs.length;
    const f = gs[0]![1] - gs[0]![0];
    const sameScript = gs.length === 2 && digits[f]!.code < 0x80 === digits[f - 1]!.code < 0x80;
    const decimal = gs.length === 2 && kind === 0x2e && digits[f]!.start - digits[f - 1]!.end === 1 && sameScript;
    // A decimal's fraction: only track data.
    const panEnd = decimal ? f : k;
    const firstEnd = groupCount > 1 ? gs[0]![1] - gs[0]![0] : k;
    const lastStart = groupCount > 1 ? digits.length - (last[1] - last[0]) : 0;
    const isStart = (q: number) => q === k || starts.has(q);
    let ibanEnd = -1;
    for (let p = digits[0]!.start - 1; p >= Math.max(0, digits[0]!.start - 42); p--) {
      const c = w[p]!;
      const isUpper = (x: number) => x >= 0x41 && x <= 0x5a;
      const isDigit = (x: number) => x >= 0x30 && x <= 0x39;
      if (!isUpper(c) && !isDigit(c) && c !== 0x20) break;
      if (isUpper(c) && p > 0 && isUpper(w[p - 1]!) && isDigit(w[p + 1]!) && isDigit(w[p + 2]!)) {
        const end = validIbanEnd(w, n, p + 1);
        if (end > digits[0]!.start) ibanEnd = Math.max(ibanEnd, end);
      }
    }
    for (let i = 0; i + 12 <= k; i++) {
      // After a group's start, or after nothing but zeros of its group.
      let g = i;
      while (!starts.has(g)) g--;
      const aligned = digits.slice(g, i).every((d) => d.cls === 0);
      let next = i + 1;
      while (!isStart(next)) next++;
      if (digits[i]!.start < ibanEnd) continue;
      for (let len = 12; len <= Math.min(19, k - i); len++) {
        const j = i + len;
        const endAligned = isStart(j);
        const allowed = aligned ? endAligned || j <= next || j > lastStart : endAligned && (i < firstEnd || j <= next);
        if (!allowed) continue;
        const ds = digits.slice(i, j).map((d) => d.cls);
        const str = ds.join('');
        const brand = brandOf(str);
        if (!brand || !luhnValid(str)) continue;
        const s = digits[i]!.start;
        const uuid = len === 12 && starts.has(i) && endAligned && w[s - 1] === 0x2d && afterUuidGroup(w, n, s - 1);
        found(s, digits[j - 1]!.end, brand, !uuid && j <= panEnd);
      }
    }
    return decimal;
  }

  return out;
}
