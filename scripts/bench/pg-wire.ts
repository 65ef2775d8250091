/**
 * PostgreSQL wire framing benchmark: BackendReader over a large stream of DataRow messages cut into socket-
 * sized chunks. Prints MiB/s for, best of several runs:
 *   scan      a bare loop hopping from length to length over the contiguous buffer (the ceiling)
 *   framing   BackendReader.push + next() per chunk (what relaying costs)
 *   datarow   framing plus decodeDataRow on every frame (a Buffer view per column)
 *   layout    framing plus DataRowLayout.read on every frame (column offsets, no allocation per column)
 *   pg        pg-protocol's Parser on the same chunks (decodes every column to a string), for reference
 * then one JSON line.
 *
 * Usage: node bin/run-ts.mjs scripts/bench/pg-wire.ts [--mib 256] [--chunk-kib 64] [--runs 3]
 */
import { Parser } from 'pg-protocol/dist/parser.js';
import { parseArgs } from 'node:util';
import { BackendReader } from '../../appliance/protocols/postgres/wire/backend-reader.ts';
import { DataRowLayout, decodeDataRow } from '../../appliance/protocols/postgres/wire/backend-messages.ts';
import * as toClient from '../../appliance/protocols/postgres/wire/to-client.ts';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, 'chunk-kib': { type: 'string', default: '64' }, runs: { type: 'string', default: '3' } } });
const MiB = 1024 * 1024;
const mib = Number(values.mib);
const chunkSize = Number(values['chunk-kib']) * 1024;
const runs = Number(values.runs);

/** Rows like a payments table: id, card number, holder, amount, NULL, timestamp, status, note. */
function buildStream(bytes: number): { stream: Buffer; rows: number } {
  const samples = Array.from({ length: 64 }, (_, i) =>
    toClient.dataRow([
      String(100000 + i),
      `4111${String(i).padStart(12, '0')}`,
      `Holder Name ${i}`,
      `${i * 7}.${i % 100}`,
      null,
      '2024-05-01 12:34:56.789+00',
      i % 3 ? 'settled' : 'pending',
      'x'.repeat(20 + (i % 40)),
    ]),
  );
  const parts: Buffer[] = [];
  let size = 0;
  let rows = 0;
  while (size < bytes) {
    const row = samples[rows % samples.length]!;
    parts.push(row);
    size += row.length;
    rows++;
  }
  return { stream: Buffer.concat(parts), rows };
}

function chunked(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += chunkSize) out.push(stream.subarray(at, at + chunkSize));
  return out;
}

function best(label: string, bytes: number, expectFrames: number, fn: () => number): number {
  let top = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const frames = fn();
    const s = (performance.now() - t0) / 1000;
    if (frames !== expectFrames) throw new Error(`${label}: ${frames} frames, expected ${expectFrames}`);
    top = Math.max(top, bytes / MiB / s);
  }
  return Math.round(top);
}

const { stream, rows } = buildStream(mib * MiB);
const chunks = chunked(stream);

const scan = best('scan', stream.length, rows, () => {
  let n = 0;
  for (let at = 0; at < stream.length; at += 1 + stream.readUInt32BE(at + 1)) n++;
  return n;
});

const framing = best('framing', stream.length, rows, () => {
  const reader = new BackendReader();
  let n = 0;
  for (const c of chunks) {
    reader.push(c);
    for (let f = reader.next(); f; f = reader.next()) n++;
  }
  return n;
});

let sink = 0;
const datarow = best('datarow', stream.length, rows, () => {
  const reader = new BackendReader();
  let n = 0;
  for (const c of chunks) {
    reader.push(c);
    for (let f = reader.next(); f; f = reader.next()) {
      const values = decodeDataRow(f.body);
      sink += values.length;
      n++;
    }
  }
  return n;
});

const rowLayout = new DataRowLayout();
const layout = best('layout', stream.length, rows, () => {
  const reader = new BackendReader();
  let n = 0;
  for (const c of chunks) {
    reader.push(c);
    for (let f = reader.next(); f; f = reader.next()) {
      sink += rowLayout.read(f.source, f.start + 5, f.end).count;
      n++;
    }
  }
  return n;
});

const pgProtocol = best('pg', stream.length, rows, () => {
  const parser = new Parser();
  let n = 0;
  for (const c of chunks) parser.parse(c, () => n++);
  return n;
});

const result = {
  scan_mib_s: scan,
  framing_mib_s: framing,
  datarow_mib_s: datarow,
  layout_mib_s: layout,
  pg_protocol_mib_s: pgProtocol,
  framing_vs_scan: Math.round((framing / scan) * 1000) / 1000,
  mib: Math.round(stream.length / MiB),
  rows,
  avg_row_bytes: Math.round(stream.length / rows),
  chunk_kib: chunkSize / 1024,
  frames_per_s_framing: Math.round((framing * MiB) / (stream.length / rows)),
};
if (sink === 0) throw new Error('no DataRow decoded');
console.log(
  `pg wire over ${result.mib} MiB of DataRow (${rows} rows, ~${result.avg_row_bytes} B each, ${result.chunk_kib} KiB chunks): ` +
    `framing ${framing} MiB/s (${(result.frames_per_s_framing / 1e6).toFixed(1)} M msg/s), framing+decodeDataRow ${datarow} MiB/s, framing+DataRowLayout ${layout} MiB/s, ` +
    `bare length scan ${scan} MiB/s (framing at ${result.framing_vs_scan}x of it), pg-protocol Parser ${pgProtocol} MiB/s`,
);
console.log(JSON.stringify(result));
