/**
 * Viewer benchmark (Playwright driving Debian's Chromium against the built renderer):
 *
 *   verify+decrypt  a ~1 GiB bundle (8 terminal sessions × 128 MiB) opened in the viewer with the auditor
 *                   key: the worker's whole verification (tar index, log, signatures, digests, decryption,
 *                   event decoding, card-number re-scan) in MiB/s, against raw libsodium-wasm secretstream
 *                   decryption of the same amount in the same browser (the ceiling)
 *   list            first paint of the sessions table for a 100,000-session bundle, after verification
 *   seek            terminal replay seeks in a one-hour recording (time to the restored screen)
 *
 *   stages          the per-stage cost of an archive verification, one thread, ms per MiB (viewer-stages.ts)
 *
 * The ceiling is measured before and after the verification runs; the ratio is against the faster of the two.
 * Prints human lines, then one JSON line with verify_decrypt_mib_s, ratio_vs_secretstream, list_first_paint_ms,
 * stages_ms_per_mib. `--v8-prof DIR` writes V8 tick logs of every isolate (workers too) for `node --prof-process`.
 * Usage: node bin/run-ts.mjs scripts/bench/viewer.ts [--gib 1] [--sessions 100000] [--skip-list | --list-only] [--v8-prof DIR]
 */
import { cpSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build as esbuild } from 'esbuild';
import { chromium, type Page } from 'playwright-core';
import { useCryptoBackend } from '../../shared/crypto/backend.ts';
import { createAuditorKey } from '../../shared/evidence/auditor-key.ts';
import { nativeBackend } from '../../appliance/crypto/native-backend.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import { initAppliance } from '../../appliance/init.ts';
import { buildRenderer, VIEWER_DIST } from '../../viewer/build.ts';
import { serveViewer } from '../../viewer/serve.ts';

useCryptoBackend(nativeBackend());
const { values } = parseArgs({ options: { gib: { type: 'string', default: '1' }, sessions: { type: 'string', default: '100000' }, 'skip-list': { type: 'boolean', default: false }, 'list-only': { type: 'boolean', default: false }, 'v8-prof': { type: 'string' } } });
const MiB = 1024 * 1024;
// tmpfs when there is one: the generators fsync every archive, which is not what is measured here.
const work = mkdtempSync(join(statSync('/dev/shm', { throwIfNoEntry: false })?.isDirectory() ? '/dev/shm' : tmpdir(), 'vigil-bench-viewer-'));

interface Evidence {
  bundle: string;
  trust: string;
  key: string;
}

async function makeEvidence(name: string, fill: (app: Appliance) => Promise<void>): Promise<Evidence> {
  const dir = join(work, name);
  const key = createAuditorKey({ label: 'bench' });
  writeFileSync(join(work, `${name}.pub`), key.publicFile);
  writeFileSync(join(work, `${name}.key`), key.secretFile);
  const init = initAppliance({ dir, auditors: [join(work, `${name}.pub`)] });
  let app = await Appliance.open(init.configPath);
  await fill(app);
  await app.close();
  app = await Appliance.open(init.configPath);
  const bundle = join(work, `${name}.vigil`);
  await exportBundle(app, { out: bundle });
  await app.close();
  rmSync(join(dir, 'data', 'archives'), { recursive: true });
  return { bundle, trust: init.trustPath, key: join(work, `${name}.key`) };
}

const payload = new Uint8Array(16 * 1024).map((_, i) => 32 + ((i * 7) % 90)); // terminal-like text

async function bigBundle(gib: number): Promise<Evidence> {
  return makeEvidence('big', async (app) => {
    const perSession = 128 * MiB;
    const sessions = Math.max(1, Math.round((gib * 1024 * MiB) / perSession));
    for (let s = 0; s < sessions; s++) {
      const rec = app.recorder.start({ protocol: 'ssh', identity: { subject: `bench-${s}` }, target: { name: 'host' }, client: { address: '127.0.0.1:1' } });
      rec.record({ type: 'session.open', protocol: 'ssh', pty: { cols: 120, rows: 40 } });
      for (let i = 0; i < perSession / payload.length; i++) rec.record({ type: 'output', stream: 'pty', data: payload });
      await rec.close('bench');
    }
  });
}

async function manySessions(n: number): Promise<Evidence> {
  return makeEvidence('many', async (app) => {
    for (let i = 0; i < n; i++) {
      const s = app.recorder.start({ protocol: 'postgres', identity: { subject: `repo:acme/bot-${i % 97}:ref:refs/heads/main` }, target: { name: `db-${i % 7}` }, client: { address: '10.0.0.1:5000' } });
      s.record({ type: 'session.open', protocol: 'postgres' });
      s.record({ type: 'command', id: 1, kind: 'sql', text: `SELECT * FROM t WHERE id = ${i}` });
      s.record({ type: 'decision', command: 1, decision: i % 10 === 0 ? 'block' : 'allow', rule: 'r' });
      await s.close('client terminated');
    }
  });
}

/** A one-hour terminal recording: a line of output every 100 ms with a command every minute. */
async function hourRecording(): Promise<Evidence> {
  let t = Date.now() - 2 * 3600_000;
  const now = () => new Date(t);
  const dir = join(work, 'hour');
  const key = createAuditorKey({ label: 'bench' });
  writeFileSync(join(work, 'hour.pub'), key.publicFile);
  writeFileSync(join(work, 'hour.key'), key.secretFile);
  const init = initAppliance({ dir, auditors: [join(work, 'hour.pub')], now: now() });
  let app = await Appliance.open(init.configPath, { now });
  const s = app.recorder.start({ protocol: 'ssh', identity: { subject: 'deploy-bot' }, target: { name: 'batch-host' }, client: { address: '10.0.0.2:40000' } });
  s.record({ type: 'session.open', protocol: 'ssh', pty: { cols: 120, rows: 36, term: 'xterm-256color' } });
  for (let i = 0; i < 36_000; i++) {
    t += 100;
    if (i % 600 === 0) {
      s.record({ type: 'command', id: i / 600 + 1, kind: 'shell', text: `tail -n 50 /var/log/batch-${i / 600}.log` });
      s.record({ type: 'decision', command: i / 600 + 1, decision: 'allow', rule: 'ops' });
    }
    s.record({ type: 'output', stream: 'pty', data: new TextEncoder().encode(`\x1b[32m${new Date(t).toISOString()}\x1b[0m line ${i} of the batch job: processed ${i * 7} records, ${(i * 13) % 1000} ms\r\n`) });
  }
  await s.close('exit');
  await app.close();
  app = await Appliance.open(init.configPath, { now });
  const bundle = join(work, 'hour.vigil');
  await exportBundle(app, { out: bundle });
  await app.close();
  return { bundle, trust: init.trustPath, key: join(work, 'hour.key') };
}

async function openInViewer(page: Page, url: string, ev: Evidence, timeout: number): Promise<number> {
  await page.goto(url);
  await page.getByTestId('trust-input').setInputFiles(ev.trust);
  await page.getByTestId('key-input').setInputFiles(ev.key);
  await page.getByTestId('key-loaded').waitFor();
  await page.getByTestId('bundle-input').setInputFiles(ev.bundle);
  const banner = page.locator('[data-testid=banner][data-with-key=yes]');
  await banner.waitFor({ timeout });
  if ((await banner.getAttribute('class'))?.includes('fail')) throw new Error(`bench bundle failed verification: ${await banner.innerText()}`);
  return Number(await banner.getAttribute('data-verify-ms'));
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    // A V8 tick log per isolate (the workers included), for `node --prof-process` (docs/performance.md).
    ...(values['v8-prof'] ? [`--js-flags=--prof --logfile=${values['v8-prof']}/v8.log --logfile-per-isolate`] : []),
  ],
});
let server: Awaited<ReturnType<typeof serveViewer>> | undefined;
try {
  await buildRenderer();
  const site = join(work, 'site');
  cpSync(join(VIEWER_DIST, 'renderer'), site, { recursive: true });
  await esbuild({ entryPoints: [new URL('./viewer-ceiling.worker.ts', import.meta.url).pathname], bundle: true, format: 'esm', outfile: join(site, 'ceiling.js'), logLevel: 'warning', platform: 'browser' });
  server = await serveViewer({ dir: site });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));

  // Ceiling: raw secretstream in a worker of the same page — measured before and after the verification runs
  // (the machine's load changes in between); the ratio is taken against the faster of the two.
  const measureCeiling = async () => {
    await page.goto(server!.url);
    return (await page.evaluate(`new Promise((resolve, reject) => {
      const w = new Worker('./ceiling.js', { type: 'module' });
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => reject(new Error(e.message));
      w.postMessage({ mib: 256 });
    })`)) as { secretstream: number; sodiumSha256: number; webcryptoSha256: number; stages: Record<string, number> };
  };
  const ceiling = await measureCeiling();
  console.log(`ceiling: raw secretstream (libsodium wasm, this browser) ${ceiling.secretstream.toFixed(0)} MiB/s; SHA-256 libsodium ${ceiling.sodiumSha256.toFixed(0)} MiB/s, WebCrypto ${ceiling.webcryptoSha256.toFixed(0)} MiB/s`);
  console.log(`stages (one thread, ms per MiB of archive): ${Object.entries(ceiling.stages).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} (raw decrypt alone: ${(1000 / ceiling.secretstream).toFixed(2)})`);

  let bytes = 0;
  let rate = NaN;
  let seekWorst = NaN;
  if (!values['list-only']) {
    const big = await bigBundle(Number(values.gib));
    bytes = statSync(big.bundle).size;
    let best = Infinity;
    for (let run = 0; run < 2; run++) best = Math.min(best, await openInViewer(page, server.url, big, 600_000));
    rate = bytes / MiB / (best / 1000);
    const after = await measureCeiling();
    console.log(`ceiling after the runs: ${after.secretstream.toFixed(0)} MiB/s`);
    ceiling.secretstream = Math.max(ceiling.secretstream, after.secretstream);
    console.log(`verify+decrypt: ${(bytes / MiB).toFixed(0)} MiB bundle in ${(best / 1000).toFixed(2)} s = ${rate.toFixed(0)} MiB/s (${(rate / ceiling.secretstream).toFixed(2)}x raw secretstream)`);
    rmSync(big.bundle);

    // Seeking in a one-hour terminal recording.
    const hour = await hourRecording();
    await openInViewer(page, server.url, hour, 600_000);
    await page.getByRole('button', { name: /^Sessions/ }).click();
    await page.locator('.vtable .row').first().click();
    await page.getByRole('tab', { name: 'Replay' }).click();
    await page.locator('[data-testid=terminal-player][data-indexing=no]').waitFor({ timeout: 300_000 });
    const slider = page.getByRole('slider', { name: 'Timeline' });
    const seeks: number[] = [];
    for (const frac of [0.9, 0.1, 0.5, 0.75, 0.25, 0.99, 0.01, 0.6]) {
      const max = Number(await slider.getAttribute('max'));
      await slider.fill(String(Math.round(max * frac)));
      await page.locator(`[data-testid=terminal-player][data-seek-for="${Math.round(max * frac)}"]`).waitFor();
      seeks.push(Number(await page.getByTestId('terminal-player').getAttribute('data-seek-ms')));
    }
    seeks.sort((a, b) => a - b);
    seekWorst = seeks[seeks.length - 1]!;
    console.log(`seek: one-hour recording (${(statSync(hour.bundle).size / MiB).toFixed(1)} MiB bundle), ${seeks.length} seeks: median ${seeks[seeks.length >> 1]!.toFixed(0)} ms, worst ${seekWorst.toFixed(0)} ms`);
  }

  let paint = NaN;
  const n = Number(values.sessions);
  if (!values['skip-list']) {
    const t0 = performance.now();
    const many = await manySessions(n);
    console.log(`list: ${n} sessions recorded and exported in ${((performance.now() - t0) / 1000).toFixed(0)} s (${(statSync(many.bundle).size / MiB).toFixed(0)} MiB)`);
    const verifyMs = await openInViewer(page, server.url, many, 1_800_000);
    // In-page clock: from the click on "Sessions" to the first frame drawn with rows in it.
    paint = (await page.evaluate(`new Promise((resolve) => {
      const button = [...document.querySelectorAll('nav.side button')].find((b) => b.textContent.startsWith('Sessions'));
      const t0 = performance.now();
      button.click();
      const check = () => (document.querySelector('.vtable .row') ? requestAnimationFrame(() => resolve(performance.now() - t0)) : requestAnimationFrame(check));
      check();
    })`)) as number;
    const shown = await page.getByTestId('session-count').innerText();
    console.log(`list: ${shown} verified in ${(verifyMs / 1000).toFixed(1)} s; first paint of the table ${paint.toFixed(0)} ms`);
  }

  console.log(
    JSON.stringify({
      bench: 'viewer',
      verify_decrypt_mib_s: Number.isFinite(rate) ? Number(rate.toFixed(1)) : null,
      secretstream_mib_s: Number(ceiling.secretstream.toFixed(1)),
      ratio_vs_secretstream: Number.isFinite(rate) ? Number((rate / ceiling.secretstream).toFixed(3)) : null,
      list_first_paint_ms: Number.isFinite(paint) ? Number(paint.toFixed(1)) : null,
      list_sessions: values['skip-list'] ? 0 : n,
      seek_worst_ms: Number.isFinite(seekWorst) ? Number(seekWorst.toFixed(1)) : null,
      bundle_bytes: bytes,
      stages_ms_per_mib: Object.fromEntries(Object.entries(ceiling.stages).map(([k, v]) => [k, Number(v.toFixed(2))])),
    }),
  );
} finally {
  await server?.close();
  await browser.close();
  rmSync(work, { recursive: true, force: true });
}
