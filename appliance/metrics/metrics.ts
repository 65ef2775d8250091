/**
 * What the gateway counts, as one small interface passed to the parts that count (pipeline, journal,
 * admin API) — no global registry, so a test or a second gateway in one process counts on its own.
 * Label values are only ever from closed vocabularies (protocol names, decisions, outcomes, error codes):
 * never an identity, a statement, a target credential or anything a client typed (labels.ts enforces it).
 */

export type SessionOutcome = 'served' | 'refused' | 'unauthenticated' | 'interrupted';

export interface Metrics {
  sessionOpened(protocol: string): void;
  sessionClosed(protocol: string, outcome: SessionOutcome): void;
  /** One per decided command part: `cls` is the policy class (read, write, ddl…), `decision` allow|block|hold|deferred. */
  command(protocol: string, cls: string, decision: string): void;
  approvalRequested(): void;
  /** A hold ended (approved, denied, expired, cancelled, unavailable) after `seconds`. */
  approvalEnded(outcome: string, seconds: number): void;
  /** Values masked or redacted (`kind`: pan, redacted, sad). */
  masked(kind: string, n: number): void;
  /** One journal group commit: how long the write+fdatasync took and how many commits shared it. */
  journalCommit(seconds: number, groupSize: number): void;
  archiveBytes(n: number): void;
  /** The recorder could not write (journal failure, a session's archive could not be sealed…). */
  recorderFailure(kind: string): void;
  /** An identity was refused: `reason` is the error code (E_JWT_EXPIRED…), never the token. */
  identityFailure(protocol: string, reason: string): void;
}

export const noMetrics: Metrics = {
  sessionOpened() {},
  sessionClosed() {},
  command() {},
  approvalRequested() {},
  approvalEnded() {},
  masked() {},
  journalCommit() {},
  archiveBytes() {},
  recorderFailure() {},
  identityFailure() {},
};
