/**
 * Which server responses belong to which client message. The gateway forwards messages as the client
 * pipelines them; the server answers in order, and after an error in the extended protocol it skips
 * everything up to the next Sync. Tracking that lets the gateway attribute rows to commands, swallow the
 * answers to Describes it injected itself, and rewrite the error of a command it substituted.
 */
import type { PendingName } from './name-table.ts';
import type { CopyLayout } from './provenance/copy-masker.ts';
import type { StatementOutput } from './provenance/provenance.ts';
import type { ColumnPlan } from './row-masker.ts';
import type { BoundPortal } from './statements.ts';

/** A command whose results are being recorded. */
export interface CommandResult {
  id: number;
  /**
   * performance.now() when the command was written to the target (set by the flush that releases it), then
   * when the statement before it in the same simple Query completed: what a result's durationMs counts from.
   */
  startedAt: number | undefined;
  /** performance.now() when the command was held for approval; heldMs = release − this. */
  heldFrom?: number;
  /** How long it waited for approval before its release (ms), once released. */
  heldMs?: number;
  plan: ColumnPlan[] | undefined;
  columns: string[] | undefined;
  rows: (string | null)[][];
  /** Rows (DataRow, CopyData) the target returned for the current statement. */
  rowsReturned: number;
  /** Set when a row could not be masked: everything up to ReadyForQuery is withheld. */
  failed?: boolean;
  /** The command changes the catalog: what Vigil knows of it is stale once it completes. */
  changesCatalog?: boolean;
  /** The gateway cancelled it for running past the policy's maxStatementSeconds. */
  overLimit?: number;
  /** Where each statement's output columns come from (a simple Query may hold several). */
  outputs?: readonly (StatementOutput | undefined)[];
  /** The statement of a simple Query whose results are arriving. */
  statement?: number;
  /**
   * true: runs code that reads cardholder data where Vigil cannot follow it (a DO block): every message it
   * raises is redacted. 'reads': the statement reads a PAN or card-security column somewhere: the messages
   * of errors and notices that can quote values (server-responses.ts, VALUE_FREE_CLASSES) are redacted.
   */
  redactMessages?: boolean | 'reads';
  /** Per statement, how a COPY TO STDOUT's rows are laid out (undefined: not a COPY, or not readable). */
  copyLayouts?: readonly (CopyLayout | undefined)[];
  /** Rows of the running COPY so far (the first may be its header). */
  copyRows?: number;
}

/**
 * One message the server will answer. `name` is the name-table operation the message carries: settled ok
 * when the server completes the message, failed when it reports an error or skips it. `command` (or
 * `cmd.id`) is the recorded command an error answering the message belongs to: a Parse's own
 * `sql-prepare`, the statement's for a Bind, Describe or Close (a Bind's error goes to the Execute of its
 * portal instead when that Execute is already on its way).
 */
export type Pending =
  | { kind: 'query'; cmd: CommandResult | undefined; rewrite?: Map<string, string>; command?: number }
  | { kind: 'parse'; rewrite?: Map<string, string>; name: PendingName; command?: number; swallow?: boolean }
  | { kind: 'bind'; name: PendingName; portal: BoundPortal; command?: number }
  | { kind: 'describe'; target: 'S' | 'P'; portal: BoundPortal | undefined; swallow: boolean; command?: number }
  | { kind: 'execute'; cmd: CommandResult; portal: BoundPortal | undefined; rewrite?: Map<string, string> }
  | { kind: 'close'; name: PendingName; swallow?: boolean; command?: number }
  /**
   * A statement Vigil could not parse, sent to the server to be parsed only (Parse, Close, Sync — never
   * executed), so the client gets PostgreSQL's own syntax error; if the server can parse it, Vigil's
   * refusal instead.
   */
  | { kind: 'check'; cmd: CommandResult | undefined; refusal: Map<string, string>; command: number; failed: boolean }
  | { kind: 'sync' }
  /** A message of the gateway's own for the client, sent once everything before it was answered. */
  | { kind: 'notice'; bytes: Buffer }
  /** The gateway's own query (session-settings.ts): nothing of its answer reaches the client. */
  | { kind: 'probe'; rows: (string | null)[][]; error: string | undefined; done: () => void }
  | { kind: 'function'; cmd: CommandResult | undefined; rewrite?: Map<string, string>; command?: number };

export class ResponseTracker {
  private readonly queue: Pending[] = [];
  private head = 0;

  push(p: Pending): void {
    this.queue.push(p);
  }

  get current(): Pending | undefined {
    return this.queue[this.head];
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  /** The last message sent that the server answers (the gateway's own notices need no answer). */
  get lastAnswered(): Pending | undefined {
    for (let i = this.queue.length - 1; i >= this.head; i--) if (this.queue[i]!.kind !== 'notice') return this.queue[i];
    return undefined;
  }

  pop(): Pending | undefined {
    const p = this.queue[this.head];
    if (p === undefined) return undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return p;
  }

  /** Pops the message the server just completed; its name operation took effect. */
  complete(): Pending | undefined {
    const p = this.pop();
    if (p && 'name' in p) p.name.settle(true);
    return p;
  }

  /** The messages after the current one, up to (not including) the next Sync: what an error would skip. */
  ahead(): Pending[] {
    const out: Pending[] = [];
    for (let i = this.head + 1; i < this.queue.length && this.queue[i]!.kind !== 'sync'; i++) out.push(this.queue[i]!);
    return out;
  }

  /**
   * After an ErrorResponse in the extended protocol: the server skips to the next Sync. The failed message
   * and every one it skipped never took effect: their name operations fail.
   */
  skipToSync(): Pending[] {
    const skipped: Pending[] = [];
    while (this.current && this.current.kind !== 'sync') skipped.push(this.pop()!);
    for (const p of skipped) if ('name' in p) p.name.settle(false);
    return skipped;
  }
}
