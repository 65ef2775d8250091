/** The checks a verification report is made of; the CLI and the viewer show them in this order. */
export const CHECKS = {
  'signatures': 'Signatures (archive manifests, checkpoint, bundle manifest)',
  'key-chain': 'Key chain (pinned keys, rotations, validity windows)',
  'digests': 'Digests (headers, frame chains, frame counts)',
  'log-inclusion': 'Log inclusion (every archive and log entry under the signed checkpoint)',
  'log-consistency': 'Log consistency (the log only grew since the pinned checkpoint)',
  'session-sequence': 'Session sequence (contiguous, none missing)',
  'decryption': 'Decryption (every frame authenticates under the auditor key)',
  'tag-final': 'TAG_FINAL (complete archives end with the final frame)',
  'pan-rescan': 'Clear card-number re-scan (no clear PAN, track data or security code in content)',
  'approvals': 'Approvals (every held command ran only when approved, bound by its command hash)',
} as const;

export type CheckId = keyof typeof CHECKS;
export const KEY_ONLY_CHECKS: readonly CheckId[] = ['decryption', 'tag-final', 'pan-rescan', 'approvals'];

export interface Failure {
  check: CheckId;
  message: string;
}
