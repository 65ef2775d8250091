/** Every `vigil doctor` check, in the order they print. A new check: one file in checks/, one line here. */
import type { DoctorCheck } from './check.ts';
import { configCheck } from './checks/config.ts';
import { fileModesCheck } from './checks/file-modes.ts';
import { signingKeyCheck } from './checks/signing-key.ts';
import { auditorKeysCheck } from './checks/auditor-keys.ts';
import { trustFileCheck } from './checks/trust-file.ts';
import { clockCheck } from './checks/clock.ts';
import { heartbeatsCheck } from './checks/heartbeats.ts';
import { diskSpaceCheck } from './checks/disk-space.ts';
import { fsyncCheck } from './checks/fsync.ts';
import { targetsCheck } from './checks/targets.ts';
import { jwksCheck } from './checks/jwks.ts';
import { evidenceStorageCheck } from './checks/evidence-storage.ts';

export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  configCheck,
  fileModesCheck,
  signingKeyCheck,
  auditorKeysCheck,
  trustFileCheck,
  clockCheck,
  heartbeatsCheck,
  diskSpaceCheck,
  fsyncCheck,
  targetsCheck,
  jwksCheck,
  evidenceStorageCheck,
];
