/**
 * The state one PostgreSQL session's two directions share: the client side (client-commands.ts) decides
 * and forwards, the server side (server-responses.ts) attributes answers to what was forwarded.
 */
import type { Socket } from 'node:net';
import type { PipelineSession } from '../../pipeline/session.ts';
import type { SqlClassifier } from '../../sql/index.ts';
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
  maskPolicy: MaskPolicy;
  /** Masked rows recorded per statement; the rest are counted. */
  resultRowsCap: number;
  /** Bytes the target sent right after authentication. */
  upstreamLeftover: Buffer;
  logger: { warn(o: object, msg: string): void };
  onClose: (reason: string) => void;
}

export interface ProxyCore {
  readonly o: ProxyOptions;
  readonly tracker: ResponseTracker;
  readonly statements: NameTable<PreparedStatement>;
  readonly portals: NameTable<BoundPortal>;
  /** How many Syncs (and simple Queries, which end with one) have been forwarded. */
  readonly syncsSent: number;
  txStatus: TransactionStatus;
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
