/**
 * PDF polish: identifiers are never broken mid-token, a heading or a table's header row never ends a page
 * without what follows it, plurals agree with their numbers, and times are UTC with milliseconds.
 */
import { describe, expect, it } from 'vitest';
import { fittingSize, wrapText, type Measure } from '../../../viewer/src/model/pdf-text.ts';
import { renderPdf } from '../../../viewer/src/model/report-pdf.ts';
import { fixPlurals, formatTimeMs, plural } from '../../../viewer/src/model/report-text.ts';
import type { Block } from '../../../viewer/src/model/report.ts';
import { pdfLibText } from '../../helpers/viewer-pdf.ts';

/** A monospace measure: every character is 0.5 em wide. */
const mono: Measure = (t, size) => t.length * size * 0.5;
const UUID = '3f2c9a1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b';
const SHA = 'f67982fad17ea6bd83d35cbb988e587b92fe9ca0e545717303a3207236590829';

describe('line breaking keeps identifiers whole', () => {
  it('a word too wide for the column is set smaller on its own line, not cut', () => {
    // 36 characters at size 8 = 144; the column is 120: shrinks to 6.66 (≥ 70 %), one line.
    const lines = wrapText(`session ${UUID} failed`, mono, 8, 120);
    expect(lines.map((l) => l.text)).toEqual(['session', UUID, 'failed']);
    expect(lines[1]!.size).toBeLessThan(8);
    expect(mono(UUID, lines[1]!.size)).toBeLessThanOrEqual(120);
    expect(lines[0]!.size).toBe(8);
    expect(fittingSize(UUID, mono, 8, 200)).toBe(8);
  });

  it('only a word wider than any readable size breaks, after a separator first, then by characters', () => {
    const path = 'spiffe://acme.internal/ns/billing/sa/refund-worker'; // 50 characters
    // 25 characters fit: never "refund-wo" / "rker" — after a separator.
    expect(wrapText(path, mono, 8, 100).map((l) => l.text)).toEqual(['spiffe://acme.internal/', 'ns/billing/sa/', 'refund-worker']);
    const literal = 'x'.repeat(20_000);
    const t0 = performance.now();
    const lines = wrapText(literal, mono, 8, 100);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(lines.map((l) => l.text).join('')).toBe(literal);
    expect(lines.every((l) => mono(l.text, l.size) <= 100)).toBe(true);
  });

  it('keeps paragraphs and empty lines; white space at a break disappears', () => {
    expect(wrapText('a b\n\nc', mono, 10, 1000).map((l) => l.text)).toEqual(['a b', '', 'c']);
    expect(wrapText('aaaa bbbb', mono, 10, 20).map((l) => l.text)).toEqual(['aaaa', 'bbbb']);
    expect(wrapText('', mono, 10, 100)).toEqual([{ text: '', size: 10 }]);
  });
});

describe('the rendered PDF', () => {
  const filler = (n: number): Block[] => Array.from({ length: n }, (_, i) => ({ kind: 'p', text: `Filler paragraph ${i} that takes one line.` }));
  const pages = (text: string) => text.split(/page \d+ of \d+\n?/).slice(0, -1);

  it('identifiers in narrow columns come out whole', async () => {
    const blocks: Block[] = [
      { kind: 'table', columns: ['Request', 'Session id', 'Identity'], widths: [0.09, 0.19, 0.18], rows: [['apr_7Q2M9Xdemo01', UUID, 'repo:acme/payments-migrations:environment:production']] },
      { kind: 'kv', rows: [['Bundle SHA-256', SHA]] },
    ];
    const text = pdfLibText(Buffer.from(await renderPdf(blocks, { title: 't', author: 'a', footer: ['line one', `Bundle SHA-256 ${SHA}`] })));
    const lines = text.split('\n');
    for (const id of ['apr_7Q2M9Xdemo01', UUID, 'repo:acme/payments-migrations:environment:production', SHA]) expect(lines, id).toContain(id);
    expect(text).toContain(`Bundle SHA-256 ${SHA} - page 1 of 1`);
  });

  it('a heading is never the last thing on a page, nor a header row without its first row', async () => {
    // Fill the first page so that about 60 pt remain: room for a heading and a header row, not for the
    // header row and a tall first row.
    for (let n = 18; n <= 30; n++) {
      const tall = Array.from({ length: 6 }, (_, i) => `line ${i}`).join('\n');
      const blocks: Block[] = [...filler(n), { kind: 'h', text: 'Approvals register' }, { kind: 'table', columns: ['Request', 'Detail'], widths: [0.3, 0.7], rows: [['apr_first', tall], ['apr_second', 'x']] }];
      const text = pdfLibText(Buffer.from(await renderPdf(blocks, { title: 't', author: 'a', footer: 'f' })));
      for (const page of pages(text)) {
        const last = page.trimEnd().split('\n').filter((l) => l !== 'f - ' && !/^f$/.test(l));
        const tail = last.slice(-3).join('|');
        expect(tail, `${n} paragraphs: page ends "${tail}"`).not.toMatch(/Approvals register$|Request\|Detail$|Detail$/);
      }
      // The heading and its table start together on one page.
      const withHeading = pages(text).find((p) => p.includes('Approvals register'))!;
      expect(withHeading).toContain('apr_first');
    }
  });

  it('a key/value table that fits on one page is not split across two', async () => {
    const kv: Block = { kind: 'kv', rows: Array.from({ length: 12 }, (_, i) => [`Key ${i}`, `value ${i}`] as [string, string]) };
    for (let n = 14; n <= 30; n += 2) {
      const text = pdfLibText(Buffer.from(await renderPdf([...filler(n), kv], { title: 't', author: 'a', footer: 'f' })));
      const withKv = pages(text).filter((p) => p.includes('Key '));
      expect(withKv, `${n} paragraphs`).toHaveLength(1);
    }
  });
});

describe('wording', () => {
  it('plurals agree with their numbers', () => {
    expect(plural(1, 'session')).toBe('1 session');
    expect(plural(0, 'session')).toBe('0 sessions');
    expect(plural(3, 'log entry', 'log entries')).toBe('3 log entries');
    expect(plural(2, 'key')).toBe('2 keys');
    expect(plural(2, 'identity')).toBe('2 identities');
    expect(fixPlurals('1 key(s): 1 pinned, 0 rotation(s) followed')).toBe('1 key: 1 pinned, 0 rotations followed');
    expect(fixPlurals('4 of 4 complete archive(s) checked end with TAG_FINAL')).toBe('4 of 4 complete archives checked end with TAG_FINAL');
    expect(fixPlurals('1 held command(s) in 5 decrypted archive(s): 1 approved')).toBe('1 held command in 5 decrypted archives: 1 approved');
    expect(fixPlurals('every frame of 1 of 1 archive(s) authenticated')).toBe('every frame of 1 of 1 archive authenticated');
    expect(fixPlurals('Approver(s)')).toBe('Approvers');
  });

  it('times are UTC with milliseconds', () => {
    expect(formatTimeMs('2026-11-29T19:00:10.755Z')).toBe('2026-11-29 19:00:10.755 UTC');
    expect(formatTimeMs('2026-11-29T19:00:10Z')).toBe('2026-11-29 19:00:10.000 UTC');
    expect(formatTimeMs(undefined)).toBe('');
    expect(formatTimeMs('not a time')).toBe('not a time');
  });
});
