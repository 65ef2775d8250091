/**
 * Every auditor public key in evidence.auditors reads and is a valid sealing key; and no auditor *secret*
 * key lies in the appliance directory (the appliance must hold no key that opens a finished archive).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeError } from '../../../shared/errors.ts';
import { parseAuditorPublicKey } from '../../../shared/evidence/auditor-key.ts';
import { needConfig, isResult, type DoctorCheck, type DoctorResult } from '../check.ts';

/** Files under `dir` (depth ≤ 3, small ones only) that hold an auditor secret key. */
function secretKeysUnder(dir: string, depth = 0, out: string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (n === 'archives' || n === 'journal') continue; // evidence, sealed or in flight: not key files
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory() && depth < 3) secretKeysUnder(p, depth + 1, out);
    else if (st.isFile() && st.size < 64 * 1024) {
      try {
        if (readFileSync(p, 'utf8').includes('"vigil-auditor-secret-key"')) out.push(p);
      } catch {
        /* unreadable: the file-modes check speaks about it */
      }
    }
  }
  return out;
}

export const auditorKeysCheck: DoctorCheck = {
  id: 'auditor-keys',
  title: 'auditor public keys are present and valid; no auditor secret key on the appliance',
  async run(ctx) {
    const loaded = needConfig(ctx, 'auditor-keys');
    if (isResult(loaded)) return [loaded];
    const out: DoctorResult[] = [];
    for (const p of loaded.config.evidence.auditors) {
      const path = loaded.resolvePath(p);
      try {
        const k = parseAuditorPublicKey(readFileSync(path, 'utf8'));
        if (k.raw.length !== 32) throw new Error(`a sealing key is 32 bytes, this one ${k.raw.length}`);
        out.push({ check: 'auditor-keys', subject: path, status: 'pass', detail: `auditor key ${k.keyId} (${path}) is valid` });
      } catch (e) {
        out.push({ check: 'auditor-keys', subject: path, status: 'fail', detail: `${path}: ${describeError(e)}`, fix: 'ask the auditor for their .pub file again (vigil keys auditor makes one) and fix evidence.auditors' });
      }
    }
    for (const f of secretKeysUnder(dirname(loaded.path))) {
      out.push({ check: 'auditor-keys', subject: f, status: 'fail', detail: `${f} is an auditor SECRET key: whoever holds the appliance could open its archives`, fix: `move it off the appliance to the auditor (and shred it here): shred -u ${f}` });
    }
    return out;
  },
};
