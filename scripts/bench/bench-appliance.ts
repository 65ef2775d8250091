/** A throwaway appliance (with an auditor key) for benchmarks. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuditorKey, parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { initAppliance } from '../../appliance/init.ts';

export function newBenchAppliance(dir: string): { configPath: string; trustPath: string; auditor: AuditorSecret } {
  const key = createAuditorKey();
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  const r = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')] });
  return { configPath: r.configPath, trustPath: r.trustPath, auditor: parseAuditorSecretKey(key.secretFile).unlock() };
}
