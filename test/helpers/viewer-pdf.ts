/**
 * Text of a PDF report, for assertions: poppler's pdftotext when installed (a real PDF reader), else a
 * small reader for what pdf-lib writes (Flate content streams, hex strings shown with Tj) — so the tests
 * do not depend on a system package the machine may lack.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export function pdfText(file: string): string {
  if (existsSync('/usr/bin/pdftotext')) return execFileSync('/usr/bin/pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  return pdfLibText(readFileSync(file));
}

export function pdfLibText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const out: string[] = [];
  const re = /stream\r?\n/g;
  for (let m = re.exec(raw); m; m = re.exec(raw)) {
    const start = m.index + m[0].length;
    const end = raw.indexOf('endstream', start);
    let content: string;
    try {
      content = inflateSync(pdf.subarray(start, end)).toString('latin1');
    } catch {
      continue;
    }
    for (const t of content.matchAll(/<([0-9A-Fa-f]*)> Tj/g)) out.push(Buffer.from(t[1]!, 'hex').toString('latin1'));
  }
  return out.join('\n');
}
