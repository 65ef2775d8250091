/**
 * vitest global setup: makes the folder every test gateway logs to (test/helpers/test-log.ts) and, after the
 * whole run, scans every line of every file in it for secrets and clear card numbers. A finding fails the
 * run (a teardown error makes vitest exit non-zero). It cannot pass vacuously: a log file with no line is
 * an error (each gateway logs at least its start), and with VIGIL_LOG_SCAN_REQUIRED=1 (scripts/test.sh,
 * the whole suite) finding no log file at all is an error too.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanLogLines } from '../helpers/log-scanner.ts';

let dir = '';

export function setup(): void {
  dir = mkdtempSync(join(tmpdir(), 'vigil-test-logs-'));
  process.env['VIGIL_TEST_LOG_DIR'] = dir;
}

export function teardown(): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
  let secrets: string[] = [];
  try {
    secrets = readFileSync(join(dir, 'secrets.txt'), 'utf8').split('\n').filter(Boolean);
  } catch {
    /* no fixture registered any */
  }
  const empty: string[] = [];
  const findings: string[] = [];
  let lines = 0;
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const these = text.split('\n').filter(Boolean);
    if (!these.length) empty.push(f);
    lines += these.length;
    for (const x of scanLogLines(these, secrets)) findings.push(`${f}:${x.line}: ${x.what}`);
  }
  const required = process.env['VIGIL_LOG_SCAN_REQUIRED'] === '1';
  const problems = [
    ...findings,
    ...empty.map((f) => `${f}: no log line (a gateway that logged nothing: the scan would be vacuous)`),
    ...(required && lines === 0 ? [`no gateway log line at all in ${dir}: the log scan checked nothing`] : []),
  ];
  if (problems.length) {
    // vitest 4 reports an error thrown here but still exits 0: set the exit status ourselves (the folder is
    // kept for the reader).
    process.exitCode = 1;
    process.stderr.write(`\nFAIL log scan: ${problems.length} problem(s) in ${dir}:\n  ${problems.slice(0, 50).join('\n  ')}\n`);
    return;
  }
  process.stdout.write(`log scan: ${lines} log line(s) in ${files.length} file(s) from the run's gateways: no secret, no clear card number\n`);
  rmSync(dir, { recursive: true, force: true });
}
