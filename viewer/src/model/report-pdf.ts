/**
 * Renders the report blocks to PDF with pdf-lib: offline, the same in Electron and in a plain browser, and
 * text-searchable (pdftotext reads it back). The standard PDF fonts cover Windows-1252 only: characters
 * outside it are shown as '?' (the HTML report has them all).
 */
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import type { Block, Tone } from './report.ts';
import { wrapText, type Line } from './pdf-text.ts';

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

/**
 * `stamp` (see reportStamp) is printed on every page, top and bottom: a failed bundle's pages each say so.
 * `footer` is one line or several (reportFooter: the file, the auditor, the bundle's SHA-256 and result).
 */
export async function renderPdf(blocks: readonly Block[], meta: { title: string; author: string; footer: string | readonly string[]; stamp?: string | undefined }): Promise<Uint8Array> {
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

  // Identifiers stay whole (set smaller when a column is too narrow); see pdf-text.ts.
  const wrap = (text: string, font: PDFFont, size: number, max: number): Line[] => wrapText(clean(text), (t, sz) => font.widthOfTextAtSize(t, sz), size, max);

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
      page.drawText(l.text, { x: MARGIN + (boxed ? 10 : 0), y: y - size, size: l.size, font, color });
      y -= lh;
    }
    y -= boxed ? 11 : 6;
  };

  const table = (columns: string[], widths: number[], rows: string[][], tones: (Tone | undefined)[] = [], labelColumn = false) => {
    const size = labelColumn ? BODY : SMALL;
    const lh = size * 1.3;
    const pad = 3;
    const colW = widths.map((w) => w * width);
    const layout = (cells: string[], font: PDFFont) => {
      const wrapped = cells.map((c, i) => {
        const ls = wrap(c, labelColumn && i === 0 ? bold : font, size, colW[i]! - 2 * pad);
        return ls.length > MAX_CELL_LINES ? [...ls.slice(0, MAX_CELL_LINES - 1), { text: `… (${ls.length - MAX_CELL_LINES + 1} more lines)`, size }] : ls;
      });
      return { wrapped, h: Math.max(...wrapped.map((l) => l.length)) * lh + 2 * pad };
    };
    const drawRow = (cells: string[], font: PDFFont, bg?: ReturnType<typeof rgb>, tone?: Tone) => {
      const { wrapped, h } = layout(cells, font);
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
          page.drawText(l.text, { x: x + pad, y: ty, size: l.size, font: labelColumn && i === 0 ? bold : font, color });
          ty -= lh;
        }
        x += colW[i]!;
      }
      y -= h;
    };
    // No orphans: a header row goes to the next page with its first row, and a key/value table that fits
    // on one page is not split across two.
    const head = columns.length ? layout(columns, bold).h : 0;
    const first = rows.length ? layout(rows[0]!, regular).h : 0;
    const all = labelColumn ? rows.reduce((sum, r) => sum + layout(r, regular).h, 0) : 0;
    ensure(all && all <= PAGE[1] - 2 * MARGIN - 14 ? all : head + first);
    if (columns.length) drawRow(columns, bold, COLORS.head);
    rows.forEach((r, i) => drawRow(r, regular, undefined, tones[i]));
    y -= 8;
  };

  /** Height of what must stay on the page with a heading: the next block's first line or first rows. */
  const keepWithHeading = (next: Block | undefined): number => {
    if (!next) return 0;
    if (next.kind === 'p') return BODY * 1.35 * Math.min(3, wrap(next.text, regular, BODY, width).length) + 10;
    if (next.kind !== 'table' && next.kind !== 'kv') return 20;
    const cols = next.kind === 'table' ? next.widths : [0.22, 0.78];
    const size = next.kind === 'kv' ? BODY : SMALL;
    const rowH = (cells: string[]) => Math.max(...cells.map((c, i) => wrap(c, regular, size, cols[i]! * width - 6).length)) * size * 1.3 + 6;
    const rows = next.kind === 'table' ? next.rows : next.rows.map(([k, v]) => [k, v]);
    return (next.kind === 'table' ? rowH(next.columns) : 0) + (rows.length ? rowH(rows[0]!) : 0);
  };

  blocks.forEach((b, bi) => {
    switch (b.kind) {
      case 'title':
        paragraph(b.text, bold, 16);
        break;
      case 'h':
        // A heading never ends a page: it moves to the next one with the start of what it heads.
        ensure(Math.min(6 + 11.5 * 1.35 + 6 + keepWithHeading(blocks[bi + 1]), PAGE[1] - 2 * MARGIN - 14));
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
  });

  const pages = doc.getPages();
  const footer = typeof meta.footer === 'string' ? [meta.footer] : [...meta.footer];
  pages.forEach((p, i) => {
    footer.forEach((f, li) => {
      const last = li === footer.length - 1;
      // One line each, whole: set smaller rather than cut (it carries the SHA-256).
      const text = clean(last ? `${f} - page ${i + 1} of ${pages.length}` : f);
      const size = Math.max(5, Math.min(SMALL, (SMALL * width) / Math.max(1, regular.widthOfTextAtSize(text, SMALL))));
      p.drawText(text, { x: MARGIN, y: MARGIN - 10 - 9 * (li + (footer.length === 1 ? 1 : 0)), size, font: regular, color: COLORS.muted });
    });
    if (meta.stamp) {
      const stamp = clean(meta.stamp);
      p.drawText(stamp, { x: MARGIN, y: PAGE[1] - MARGIN + 12, size: SMALL + 1, font: bold, color: COLORS.fail });
      p.drawText(stamp, { x: MARGIN, y: MARGIN - 30, size: SMALL + 1, font: bold, color: COLORS.fail });
    }
  });
  return doc.save();
}
