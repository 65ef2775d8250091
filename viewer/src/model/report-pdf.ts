/**
 * Renders the report blocks to PDF with pdf-lib: offline, the same in Electron and in a plain browser, and
 * text-searchable (pdftotext reads it back). The standard PDF fonts cover Windows-1252 only: characters
 * outside it are shown as '?' (the HTML report has them all).
 */
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import type { Block, Tone } from './report.ts';

const PAGE: [number, number] = [841.89, 595.28]; // A4 landscape
const MARGIN = 36;
const BODY = 9;
const SMALL = 7.5;
const MAX_CELL_LINES = 40;

const COLORS = {
  text: rgb(0.11, 0.15, 0.2),
  muted: rgb(0.36, 0.4, 0.45),
  line: rgb(0.82, 0.86, 0.9),
  head: rgb(0.93, 0.95, 0.97),
  pass: rgb(0.12, 0.48, 0.23),
  passBg: rgb(0.9, 0.96, 0.92),
  fail: rgb(0.7, 0.15, 0.12),
  failBg: rgb(0.99, 0.92, 0.92),
  warnBg: rgb(1, 0.97, 0.88),
};

const REPLACE: Record<string, string> = { '→': '->', '←': '<-', '✓': 'OK', '✗': 'X', '≥': '>=', '≤': '<=', '‖': '||', '␛': 'ESC' };

/** `stamp` (see reportStamp) is printed on every page, top and bottom: a failed bundle's pages each say so. */
export async function renderPdf(blocks: readonly Block[], meta: { title: string; author: string; footer: string; stamp?: string | undefined }): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(meta.title);
  doc.setAuthor(meta.author || 'auditor');
  doc.setCreator('Vigil Evidence Viewer');
  doc.setProducer('Vigil Evidence Viewer (pdf-lib)');
  const regular = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const charset = new Set(regular.getCharacterSet());
  const clean = (s: string): string => {
    let out = '';
    for (const ch of s) {
      const cp = ch.codePointAt(0)!;
      if (ch === '\n') out += ch;
      else if (REPLACE[ch]) out += REPLACE[ch];
      else if (cp < 32 || cp === 127) out += cp === 9 ? ' ' : '?';
      else out += charset.has(cp) ? ch : '?';
    }
    return out;
  };

  let page!: PDFPage;
  let y = 0;
  const newPage = () => {
    page = doc.addPage(PAGE);
    y = PAGE[1] - MARGIN;
  };
  newPage();
  const width = PAGE[0] - 2 * MARGIN;
  const ensure = (h: number) => {
    if (y - h < MARGIN + 14) newPage();
  };

  const wrap = (text: string, font: PDFFont, size: number, max: number): string[] => {
    const lines: string[] = [];
    for (const para of clean(text).split('\n')) {
      let line = '';
      for (const word of para.split(/(\s+)/)) {
        if (word === '') continue;
        const next = line + word;
        if (font.widthOfTextAtSize(next, size) <= max) {
          line = next;
          continue;
        }
        if (line.trim()) lines.push(line.trimEnd());
        line = word.trimStart();
        // A word wider than the column is broken by characters.
        while (font.widthOfTextAtSize(line, size) > max) {
          let cut = line.length - 1;
          while (cut > 1 && font.widthOfTextAtSize(line.slice(0, cut), size) > max) cut = Math.floor(cut * 0.9);
          lines.push(line.slice(0, cut));
          line = line.slice(cut);
        }
      }
      lines.push(line.trimEnd());
    }
    return lines;
  };

  const paragraph = (text: string, font: PDFFont, size: number, color = COLORS.text, tone?: Tone) => {
    const lines = wrap(text, font, size, width - (tone === 'pass' || tone === 'fail' ? 16 : 0));
    const lh = size * 1.35;
    const boxed = tone === 'pass' || tone === 'fail';
    const h = lines.length * lh + (boxed ? 10 : 0);
    ensure(Math.min(h, PAGE[1] - 2 * MARGIN));
    if (boxed) {
      page.drawRectangle({ x: MARGIN, y: y - h, width, height: h, color: tone === 'pass' ? COLORS.passBg : COLORS.failBg });
      page.drawRectangle({ x: MARGIN, y: y - h, width: 3, height: h, color: tone === 'pass' ? COLORS.pass : COLORS.fail });
      y -= 5;
    }
    for (const l of lines) {
      ensure(lh);
      page.drawText(l, { x: MARGIN + (boxed ? 10 : 0), y: y - size, size, font, color });
      y -= lh;
    }
    y -= boxed ? 11 : 6;
  };

  const table = (columns: string[], widths: number[], rows: string[][], tones: (Tone | undefined)[] = [], labelColumn = false) => {
    const size = labelColumn ? BODY : SMALL;
    const lh = size * 1.3;
    const pad = 3;
    const colW = widths.map((w) => w * width);
    const drawRow = (cells: string[], font: PDFFont, bg?: ReturnType<typeof rgb>, tone?: Tone) => {
      const wrapped = cells.map((c, i) => {
        const ls = wrap(c, labelColumn && i === 0 ? bold : font, size, colW[i]! - 2 * pad);
        return ls.length > MAX_CELL_LINES ? [...ls.slice(0, MAX_CELL_LINES - 1), `… (${ls.length - MAX_CELL_LINES + 1} more lines)`] : ls;
      });
      const h = Math.max(...wrapped.map((l) => l.length)) * lh + 2 * pad;
      const fresh = y - h < MARGIN + 14;
      if (fresh) {
        newPage();
        if (columns.length && font !== bold) drawRow(columns, bold, COLORS.head);
      }
      const fill = bg ?? (tone === 'fail' ? COLORS.failBg : tone === 'warn' ? COLORS.warnBg : undefined);
      let x = MARGIN;
      for (let i = 0; i < cells.length; i++) {
        page.drawRectangle({ x, y: y - h, width: colW[i]!, height: h, borderColor: COLORS.line, borderWidth: 0.5, ...(fill ? { color: fill } : {}) });
        const color = i === 1 && tone === 'pass' ? COLORS.pass : i === 1 && tone === 'fail' ? COLORS.fail : COLORS.text;
        let ty = y - pad - size;
        for (const l of wrapped[i]!) {
          page.drawText(l, { x: x + pad, y: ty, size, font: labelColumn && i === 0 ? bold : font, color });
          ty -= lh;
        }
        x += colW[i]!;
      }
      y -= h;
    };
    if (columns.length) {
      ensure(lh * 3);
      drawRow(columns, bold, COLORS.head);
    }
    rows.forEach((r, i) => drawRow(r, regular, undefined, tones[i]));
    y -= 8;
  };

  for (const b of blocks) {
    switch (b.kind) {
      case 'title':
        paragraph(b.text, bold, 16);
        break;
      case 'h':
        ensure(40);
        y -= 6;
        paragraph(b.text, bold, 11.5);
        break;
      case 'p':
        paragraph(b.text, b.tone === 'pass' || b.tone === 'fail' ? bold : regular, b.tone === 'muted' ? SMALL : BODY, b.tone === 'muted' ? COLORS.muted : b.tone === 'pass' ? COLORS.pass : b.tone === 'fail' ? COLORS.fail : COLORS.text, b.tone);
        break;
      case 'kv':
        table([], [0.22, 0.78], b.rows.map(([k, v]) => [k, v]), [], true);
        break;
      case 'table':
        table(b.columns, b.widths, b.rows, b.tones ?? []);
        if (b.note) paragraph(b.note, regular, SMALL, COLORS.muted);
        break;
    }
  }

  const pages = doc.getPages();
  pages.forEach((p, i) => {
    const text = clean(`${meta.footer} - page ${i + 1} of ${pages.length}`);
    p.drawText(text, { x: MARGIN, y: MARGIN - 18, size: SMALL, font: regular, color: COLORS.muted });
    if (meta.stamp) {
      const stamp = clean(meta.stamp);
      p.drawText(stamp, { x: MARGIN, y: PAGE[1] - MARGIN + 12, size: SMALL + 1, font: bold, color: COLORS.fail });
      p.drawText(stamp, { x: MARGIN, y: MARGIN - 30, size: SMALL + 1, font: bold, color: COLORS.fail });
    }
  });
  return doc.save();
}
