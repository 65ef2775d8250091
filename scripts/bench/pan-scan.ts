/**
 * Throughput of the card-data scan over mostly-non-card UTF-8 text, against a ceiling.
 *
 * The buffer (default 64 MiB, seeded, so every run sees the same bytes) rotates eight kinds of lines a gateway
 * sees: nginx access log, pino JSON log, SQL result row with dates, amounts and an IBAN, slow-query warning,
 * JSON order event (epoch-ms times, 19-digit ids, a SHA-1, phone number), stack-trace frame, debug heartbeat
 * with a UUID, free-text note. About 27% of the bytes are digits. One PAN per ~3 MiB (plain, spaced, dashed, or
 * as track data) makes the scan do real work, and it must find exactly those.
 *
 *   pan_scan_mib_s  findCardData(bytes) over the whole buffer: the full scan (best of RUNS, after a warm-up)
 *   indexof_mib_s   the ceiling: Uint8Array.prototype.indexOf(0x7f) over the same buffer. The generator never
 *                   writes 0x7f, so it reads every byte and returns -1: V8's native single-byte search, the
 *                   fastest way JS has to look at every byte
 *   ratio           pan_scan_mib_s / indexof_mib_s
 *   pan_scan_cpu_mib_s  the same scan measured by CPU time (steadier when other processes share the cores)
 * Also reported: containsCardData over the same text without the PANs (so it cannot stop early), findCardData
 * on the same text as a JS string (MiB of its UTF-8 size, to compare), a plain JS loop comparing every byte
 * with 0x7f, and the digit share.
 *
 * Strict mode (docs/pan-detection.md):
 *   strict_mib_s, strict_cpu_mib_s, strict_string_mib_s  findCardData(…, { strict: true }) over the same bytes
 *                   and string; strict_matches counts its matches (the inserted PANs plus its false positives)
 *   fp_rate_normal, fp_rate_strict  share of values with a false match over the seeded corpus of realistic
 *                   non-card values (test/unit/shared/pan/fp-corpus.ts, 2000 per category, categories weighted
 *                   equally); fp_normal, fp_strict per category; fp_strict_interior and fp_strict_mixed for the
 *                   two rule variants strict mode does not use (windows inside runs, mixed separators)
 *   detect_normal, detect_strict  share of the attack forms (test/unit/shared/pan/attack-forms.ts, every
 *                   public test PAN) found; detect_strict_forms per form
 *
 * Usage: node bin/run-ts.mjs scripts/bench/pan-scan.ts [MiB]   (prints a line, then JSON as the last line)
 */
import { pathToFileURL } from 'node:url';
import { containsCardData, findCardData } from '../../shared/pan/index.ts';
import { rng } from '../../test/helpers/seeded-random.ts';
import { detectionRates, fpRates, overall } from '../../test/unit/shared/pan/measure.ts';

const RUNS = 10;

export interface PanScanBench {
  pan_scan_mib_s: number;
  indexof_mib_s: number;
  ratio: number;
  /** pan_scan_mib_s by CPU time instead of wall clock: the same on an idle machine, steadier on a busy one. */
  pan_scan_cpu_mib_s: number;
  contains_clean_mib_s: number;
  string_scan_mib_s: number;
  js_loop_mib_s: number;
  digits_pct: number;
  mib: number;
  pans_inserted: number;
  matches_found: number;
  strict_mib_s: number;
  strict_cpu_mib_s: number;
  strict_string_mib_s: number;
  strict_matches: number;
  fp_rate_normal: number;
  fp_rate_strict: number;
  fp_normal: Record<string, number>;
  fp_strict: Record<string, number>;
  fp_strict_interior: Record<string, number>;
  fp_strict_mixed: Record<string, number>;
  detect_normal: number;
  detect_strict: number;
  detect_strict_forms: Record<string, number>;
}

const STRICT = { strict: true } as const;


const PANS = [
  '4111111111111111',
  '5555 5555 5555 4444',
  '2223-0031-2200-3222',
  '378282246310005',
  '6011 1111 1111 1117',
  '3566002020360505',
  '30569309025904',
  '6200000000000005',
  ';4111111111111111=25121010000000000000?',
  '%B5555555555554444^DOE/JANE^2612101000000000000000?',
];

const NAMES = ['Zoë Müller', 'José Álvarez', 'Łukasz Wiśniewski', 'Ana', 'Søren Kierkegaard', '山田太郎', 'Chloé Dubois'];
const STATUS = ['shipped', 'pending', 'refunded', 'cancelled', 'on_hold'];
const PATHS = ['/api/v1/orders', '/api/v1/customers', '/health', '/api/v2/payments/intent', '/static/app.js'];
const MESSAGES = [
  'request completed',
  'payment authorised by the acquirer, capturing',
  'customer asked for a refund: parcel arrived damaged, photos attached',
  'retrying webhook delivery after a timeout from the merchant endpoint',
  'session closed by the client',
  'connection pool exhausted, waiting for a free connection',
];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'curl/8.5.0',
  'vigil-agent/1.4.2 (+https://example.invalid/agent)',
];
const FRAMES = ['OrderService.capture', 'PaymentGateway.authorise', 'Router.handle', 'Pool.acquire'];

/**
 * Lines in a fixed rotation: nginx access log, pino JSON log, SQL result row, slow-query warning, JSON order
 * event, stack-trace frame, debug heartbeat, free-text note. About a fifth of the bytes are digits.
 */
export function buildBenchText(mib: number, withPans = true): { text: string; pans: number } {
  const rand = rng(0x5eed);
  const int = (max: number) => Math.floor(rand() * max);
  const pick = <T>(a: readonly T[]) => a[int(a.length)]!;
  const pad = (v: number, w: number) => String(v).padStart(w, '0');
  const hex = (len: number) => {
    let s = '';
    while (s.length < len) s += int(0x100000000).toString(16).padStart(8, '0');
    return s.slice(0, len);
  };
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const date = () => `2026-${pad(1 + int(12), 2)}-${pad(1 + int(28), 2)}`;
  const time = () => `${pad(int(24), 2)}:${pad(int(60), 2)}:${pad(int(60), 2)}`;
  const iso = () => `${date()}T${time()}.${pad(int(1000), 3)}Z`;
  const amount = () => `${int(100000)}.${pad(int(100), 2)}`;
  const ip = () => `10.${int(256)}.${int(256)}.${int(256)}`;
  const target = mib * 1024 * 1024;
  const lines: string[] = [];
  let size = 0;
  let pans = 0;
  let line = 0;
  // About one PAN per 3 MiB (at least a few in a small buffer); an odd step, so they follow every kind of line.
  const panEvery = Math.max(101, Math.round(mib * 313)) | 1;
  let nextPan = panEvery >> 1;
  while (size < target) {
    let s: string;
    switch (line++ % 8) {
      case 0:
        s = `${ip()} - - [29/Nov/2026:${time()} +0000] "GET ${pick(PATHS)}/${int(1e6)}?page=${int(20)} HTTP/1.1" ${200 + int(4) * 100} ${int(1e5)} "-" "${pick(AGENTS)}"`;
        break;
      case 1:
        s = `{"level":30,"time":${1764441692123 + int(1e9)},"pid":${int(65536)},"hostname":"gw-${int(9)}","reqId":"req-${int(1e5).toString(36)}","req":{"method":"POST","url":"${pick(PATHS)}","remoteAddress":"${ip()}"},"res":{"statusCode":200},"responseTime":${(rand() * 90).toFixed(3)},"msg":"${pick(MESSAGES)}"}`;
        break;
      case 2:
        s = `| ${int(1e6)} | ${date()} | ${time()} | ${amount()} | ${pick(STATUS)} | ${pick(NAMES)} | FR76 3000 6000 0112 3456 7890 189 |`;
        break;
      case 3:
        s = `${iso()} WARN db slow query took ${int(5000)} ms: SELECT id, created_at, total FROM orders WHERE customer_id = ${int(1e7)} AND created_at > '2026-01-01 00:00:00' ORDER BY created_at DESC LIMIT ${int(500)}`;
        break;
      case 4:
        s = `{"event":"order.updated","order_id":"ORD-2026${pad(1 + int(12), 2)}${pad(1 + int(28), 2)}-${pad(int(1e6), 6)}","amount":${amount()},"currency":"EUR","customer":{"id":${int(1e7)},"name":"${pick(NAMES)}","phone":"+1 415 555 ${pad(int(1e4), 4)}"},"id":"1${pad(int(1e9), 9)}${pad(int(1e9), 9)}","etag":"${hex(40)}"}`;
        break;
      case 5:
        s = `    at ${pick(FRAMES)} (/srv/app/dist/${pick(STATUS)}/service.js:${int(2000)}:${int(80)})`;
        break;
      case 6:
        s = `${iso()} DEBUG session ${uuid()} heartbeat seq=${int(1e9)} lag=${(rand() * 3).toFixed(6)} host=gw-${int(9)}.dc${int(3)}.internal v2.${int(10)}.${int(10)}`;
        break;
      default:
        s = `note from ${pick(NAMES)}: ${pick(MESSAGES)}; call back on 0044 20 7946 ${pad(int(1e4), 4)} before ${date()} (ticket #${int(1e5)})`;
    }
    if (line === nextPan) {
      nextPan += panEvery;
      if (withPans) s += ` card=${PANS[pans++ % PANS.length]} ok`;
    }
    lines.push(s);
    size += s.length + 1;
  }
  return { text: lines.join('\n'), pans };
}

export function buildBenchBuffer(mib: number, withPans = true): { bytes: Uint8Array; pans: number } {
  const { text, pans } = buildBenchText(mib, withPans);
  return { bytes: new TextEncoder().encode(text), pans };
}

/** Best MiB/s of `runs` runs, by wall clock; `cpu` also gets the best by this process's CPU time. */
function best(runs: number, bytes: number, f: () => void, cpu?: { mib_s: number }): number {
  let bestMs = Infinity;
  let bestCpuMs = Infinity;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    bestMs = Math.min(bestMs, performance.now() - t0);
    const c = process.cpuUsage(c0);
    bestCpuMs = Math.min(bestCpuMs, (c.user + c.system) / 1000);
  }
  if (cpu !== undefined) cpu.mib_s = bytes / (1024 * 1024) / (bestCpuMs / 1000);
  return bytes / (1024 * 1024) / (bestMs / 1000);
}

export function benchPanScan(opts: { mib?: number } = {}): PanScanBench {
  const mib = opts.mib ?? 64;
  const { text, pans } = buildBenchText(mib, true);
  const dirty = new TextEncoder().encode(text);
  const clean = buildBenchBuffer(mib, false).bytes;

  // Warm-up, so that every measured run uses optimized code: V8 needs a few passes over all the paths.
  const warm = dirty.subarray(0, Math.min(dirty.length, 8 << 20));
  const warmText = text.slice(0, 8 << 20);
  for (let r = 0; r < 5; r++) {
    findCardData(warm);
    containsCardData(warm);
    findCardData(warmText);
    findCardData(warm, STRICT);
    findCardData(warmText, STRICT);
  }

  let found = 0;
  const cpu = { mib_s: 0 };
  const pan_scan_mib_s = best(
    RUNS,
    dirty.length,
    () => {
      found = findCardData(dirty).length;
    },
    cpu,
  );
  const contains_clean_mib_s = best(RUNS, clean.length, () => {
    if (containsCardData(clean)) throw new Error('the clean buffer holds card data');
  });
  const string_scan_mib_s = best(RUNS, dirty.length, () => {
    if (findCardData(text).length !== found) throw new Error('string and byte scans disagree');
  });
  const indexof_mib_s = best(RUNS, dirty.length, () => {
    if (dirty.indexOf(0x7f) !== -1) throw new Error('the buffer holds 0x7f');
  });
  const js_loop_mib_s = best(RUNS, dirty.length, () => {
    let k = 0;
    while (k < dirty.length && dirty[k] !== 0x7f) k++;
    if (k !== dirty.length) throw new Error('the buffer holds 0x7f');
  });
  let strictFound = 0;
  const strictCpu = { mib_s: 0 };
  const strict_mib_s = best(
    RUNS,
    dirty.length,
    () => {
      strictFound = findCardData(dirty, STRICT).length;
    },
    strictCpu,
  );
  const strict_string_mib_s = best(RUNS, dirty.length, () => {
    if (findCardData(text, STRICT).length !== strictFound) throw new Error('strict string and byte scans disagree');
  });
  if (found !== pans) throw new Error(`found ${found} matches, ${pans} PANs were inserted`);
  if (strictFound < pans) throw new Error(`strict mode found ${strictFound} matches, ${pans} PANs were inserted`);
  const fp_normal = fpRates('normal');
  const fp_strict = fpRates('strict');
  const detectStrict = detectionRates('strict');
  let digits = 0;
  for (let k = 0; k < dirty.length; k++) if (dirty[k]! >= 0x30 && dirty[k]! <= 0x39) digits++;
  const round = (v: number) => Math.round(v);
  return {
    pan_scan_mib_s: round(pan_scan_mib_s),
    indexof_mib_s: round(indexof_mib_s),
    ratio: Math.round((pan_scan_mib_s / indexof_mib_s) * 1000) / 1000,
    pan_scan_cpu_mib_s: round(cpu.mib_s),
    contains_clean_mib_s: round(contains_clean_mib_s),
    string_scan_mib_s: round(string_scan_mib_s),
    js_loop_mib_s: round(js_loop_mib_s),
    digits_pct: Math.round((digits / dirty.length) * 1000) / 10,
    mib,
    pans_inserted: pans,
    matches_found: found,
    strict_mib_s: round(strict_mib_s),
    strict_cpu_mib_s: round(strictCpu.mib_s),
    strict_string_mib_s: round(strict_string_mib_s),
    strict_matches: strictFound,
    fp_rate_normal: overall(fp_normal),
    fp_rate_strict: overall(fp_strict),
    fp_normal,
    fp_strict,
    fp_strict_interior: fpRates('strict_interior'),
    fp_strict_mixed: fpRates('strict_mixed'),
    detect_normal: detectionRates('normal').expected,
    detect_strict: detectStrict.expected,
    detect_strict_forms: detectStrict.perForm,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const mib = Number(process.argv[2] ?? 64);
  const r = benchPanScan({ mib });
  console.log(
    `pan scan ${r.pan_scan_mib_s} MiB/s (${r.pan_scan_cpu_mib_s} by CPU time) over ${r.mib} MiB ` +
      `(${r.matches_found} matches, ${r.pans_inserted} inserted); ` +
      `indexOf ceiling ${r.indexof_mib_s} MiB/s (ratio ${r.ratio}); contains on clean ${r.contains_clean_mib_s} MiB/s; ` +
      `string scan ${r.string_scan_mib_s} MiB/s; plain JS loop ${r.js_loop_mib_s} MiB/s; ${r.digits_pct}% digits`,
  );
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  const perCategory = Object.keys(r.fp_strict)
    .map((c) => `${c} ${pct(r.fp_normal[c]!)}/${pct(r.fp_strict[c]!)}`)
    .join(', ');
  console.log(
    `strict scan ${r.strict_mib_s} MiB/s (${r.strict_cpu_mib_s} by CPU time), string ${r.strict_string_mib_s} MiB/s, ` +
      `${r.strict_matches} matches; false positives normal ${pct(r.fp_rate_normal)}, strict ${pct(r.fp_rate_strict)} ` +
      `(normal/strict: ${perCategory}); attack forms found: normal ${pct(r.detect_normal)}, strict ${pct(r.detect_strict)}`,
  );
  console.log(JSON.stringify(r));
}
