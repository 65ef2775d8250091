/**
 * Every gateway a test starts logs to a file under VIGIL_TEST_LOG_DIR (made by test/setup/log-scan.ts, the
 * global setup), besides wherever the test reads its lines; at the end of the run the global teardown scans
 * every line for secrets and clear card numbers. Secrets a fixture knows (target passwords, minted tokens)
 * are registered here so the scan looks for them literally, besides its generic patterns.
 */
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import pino from 'pino';
import { LOG_OPTIONS } from '../../appliance/logger.ts';

let fallback: string | undefined;
let n = 0;

/** The run's log folder (a private one when a test runs outside the vitest config). */
export function testLogDir(): string {
  const dir = process.env['VIGIL_TEST_LOG_DIR'] ?? (fallback ??= mkdtempSync(join(tmpdir(), 'vigil-test-logs-unscanned-')));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A fresh log file path in the run's folder (for createLogger({ destination })). */
export function testLogPath(name: string): string {
  return join(testLogDir(), `${name}-${process.pid}-${++n}.log`);
}

/** A debug-level logger (the appliance's options, masking included) writing to `sink` (if any) and to a file the final scan reads. */
export function testLogger(name: string, sink?: Writable): pino.Logger {
  const file = pino.destination({ dest: testLogPath(name), sync: true, mkdir: true });
  const streams: pino.StreamEntry[] = [{ level: 'debug', stream: file }];
  if (sink) streams.push({ level: 'debug', stream: sink });
  return pino({ ...LOG_OPTIONS, level: 'debug' }, pino.multistream(streams));
}

/** A secret the scan must never find in a log line (one per line in secrets.txt). */
export function registerTestSecret(secret: string): void {
  if (secret.length >= 8) appendFileSync(join(testLogDir(), 'secrets.txt'), secret.replaceAll('\n', ' ') + '\n', { mode: 0o600 });
}
