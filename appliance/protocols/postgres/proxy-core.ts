/**
 * The state one PostgreSQL session's two directions share: the client side (client-commands.ts) decides
 * and forwards, the server side (server-responses.ts) attributes answers to what was forwarded.
 */
import type { Socket } from 'node:net';
import type { PipelineSession } from '../../pipeline/session.ts';
import type { SqlClassifier } from '../../sql/index.ts';
import type { TargetCatalog } from './catalog/target-catalog.ts';
import type { ClassRules } from './provenance/column-classes.ts';
import type { PlanContext } from './provenance/mask-plan.ts';
import type { SessionSettings } from './session-settings.ts';
import type { NameTable } from './name-table.ts';
import type { Pending, ResponseTracker } from './response-tracker.ts';
import type { MaskPolicy } from './row-masker.ts';
import type { BoundPortal, PreparedStatement } from './statements.ts';
import type { FrontendReader, TransactionStatus } from './wire/index.ts';

export interface ProxyOptions {
  client: Socket;
  upstream: Socket;
  clientReader: FrontendReader;
  session: PipelineSession;
  classifier: SqlClassifier;
  maskPolicy: MaskPolicy & { derivedPan: 'redact' | 'block' };
  /** Which source columns hold cardholder data (target cardholderData + policy redactColumns). */
  classRules: ClassRules;
  /** The target's database: the `database` attribute of every command's facts. */
  database: string;
  /** Masked rows recorded per statement; the rest are counted. */
  resultRowsCap: number;
  /** Bytes the target sent right after authentication. */
  upstreamLeftover: Buffer;
  logger: { warn(o: object, msg: string): void };
  onClose: (reason: string) => void;
  /** The target's catalog (names, functions, views) as the gateway knows it. */
  catalog: TargetCatalog;
  /** Functions (schema.name globs) the target's owner declared harmless. */
  trustedFunctions: readonly string[];
  /** Sends a CancelRequest for this session's target backend. */
  cancelTarget: () => Promise<void>;
  /** The policy's limits.maxStatementSeconds, if any. */
  maxStatementSeconds: number | undefined;
}

export interface ProxyCore {
  readonly o: ProxyOptions;
  readonly tracker: ResponseTracker;
  readonly statements: NameTable<PreparedStatement>;
  readonly portals: NameTable<BoundPortal>;
  /** How many Syncs (and simple Queries, which end with one) have been forwarded. */
  readonly syncsSent: number;
  txStatus: TransactionStatus;
  readonly settings: SessionSettings;
  /** Commands held for approval right now (a held session is not idle). */
  holds: number;
  /** Whether the server will become idle without more client messages (nothing owed but up to a ReadyForQuery). */
  canReachIdle(): boolean;
  /** Resolves once the server has answered everything forwarded. */
  idle(): Promise<void>;
  /** Reads the session settings from the server (session-settings.ts); false when it could not. */
  probe(): Promise<boolean>;
  /** The server answered the `answered`-th Sync (ReadyForQuery). */
  answered(answered: number): void;
  /** After each answer: wakes whoever waits for idle() when nothing is owed any more. */
  checkIdle(): void;
  /** How the masker places the columns a RowDescription names. */
  readonly planContext: PlanContext;
  /** Queues bytes for the target (written at the next flush) and what the target will answer. */
  forward(b: Buffer, expect?: Pending): void;
  /** The recording changed: the next flush commits before it forwards (record, then forward). */
  recorded(): void;
  /** Commits the recording, then writes everything queued. */
  flush(): Promise<void>;
  /** Writes straight to the client (NOTICEs while a command is held). */
  tellClient(b: Buffer): void;
  /** Stops the session from the gateway's side with a FATAL. */
  terminate(sqlstate: string, message: string, reason: string): void;
}
