/**
 * `vigil demo-evidence --out DIR`: a complete, verifiable evidence set made by the real writer — two
 * auditor keys (one passphrase-protected), an appliance, five sessions (masked rows, a block, an
 * approval, an SSH terminal, an interrupted one), the exported bundle and the trust file.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VigilError } from '../../shared/errors.ts';
import { createAuditorKey, KDF_DEFAULTS } from '../../shared/evidence/auditor-key.ts';
import { Appliance } from '../appliance.ts';
import { exportBundle } from '../export/export-bundle.ts';
import { initAppliance } from '../init.ts';
import { DemoClock, approvalSession, blockedDropSession, interruptedSession, maskedSelectSession, sshSession } from './sample-sessions.ts';

export const DEMO_PASSPHRASE = 'correct horse battery staple';

export interface DemoEvidence {
  dir: string;
  bundle: string;
  trust: string;
  auditorKey: string;
  protectedKey: string;
  passphrase: string;
  config: string;
}

export async function writeDemoEvidence(outDir: string, opts: { kdf?: { opsLimit: number; memLimit: number } } = {}): Promise<DemoEvidence> {
  const dir = resolve(outDir);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new VigilError('E_EXISTS', `${dir} is not empty`, { hint: 'give a new or empty directory' });
  mkdirSync(dir, { recursive: true });
  const plain = createAuditorKey({ label: 'demo auditor' });
  const locked = createAuditorKey({ label: 'demo auditor (passphrase)', passphrase: DEMO_PASSPHRASE, kdf: opts.kdf ?? KDF_DEFAULTS });
  const write = (name: string, text: string, mode: number) => writeFileSync(join(dir, name), text, { mode });
  write('auditor.pub', plain.publicFile, 0o644);
  write('auditor.key', plain.secretFile, 0o600);
  write('auditor-protected.pub', locked.publicFile, 0o644);
  write('auditor-protected.key', locked.secretFile, 0o600);

  const clock = new DemoClock(Date.now() - 60 * 60 * 1000);
  const init = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub'), join(dir, 'auditor-protected.pub')], now: clock.now() });
  copyFileSync(init.trustPath, join(dir, 'trust.json'));

  let app = await Appliance.open(init.configPath, { now: clock.now });
  try {
    clock.advance(60_000);
    await maskedSelectSession(app.recorder, clock);
    clock.advance(300_000);
    await blockedDropSession(app.recorder, clock);
    clock.advance(240_000);
    await approvalSession(app.recorder, clock, app.log);
    clock.advance(120_000);
    await sshSession(app.recorder, clock);
    clock.advance(600_000);
    await interruptedSession(app.recorder, clock);
  } finally {
    await app.close();
  }
  // "Restart" after the crash: opening the appliance seals the abandoned archive as interrupted.
  clock.advance(30_000);
  app = await Appliance.open(init.configPath, { now: clock.now });
  const bundle = join(dir, 'evidence.vigil');
  try {
    await exportBundle(app, { out: bundle });
  } finally {
    await app.close();
  }
  return {
    dir,
    bundle,
    trust: join(dir, 'trust.json'),
    auditorKey: join(dir, 'auditor.key'),
    protectedKey: join(dir, 'auditor-protected.key'),
    passphrase: DEMO_PASSPHRASE,
    config: init.configPath,
  };
}
