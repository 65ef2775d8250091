/**
 * The token replay store in the appliance's own SQLite database (table token_replay): a claimed `jti`
 * is committed (synchronous=FULL) before the session it opens goes on, so neither a crash nor a restart
 * reopens the replay window. Rows are pruned once the token could no longer pass verification anyway
 * (its expiry plus tolerance, as the verifier passes it): at start-up and then at most once a minute,
 * on a claim.
 *
 * One appliance only: a fleet sharing one name needs a shared store (a later issue) behind the same
 * TokenReplayStore interface.
 */
import type { TokenReplayStore } from '../identity/replay-store.ts';
import type { Db } from './database.ts';

export interface SqliteTokenReplayStoreOptions {
  /** How often a claim also deletes expired rows (default 60 s). */
  pruneIntervalMs?: number;
  /** The clock for start-up pruning (tests). */
  now?: Date;
}

export class SqliteTokenReplayStore implements TokenReplayStore {
  private readonly pruneIntervalMs: number;
  private lastPrune = 0;
  private readonly insert;
  private readonly forgetStale;
  private readonly deleteExpired;
  private readonly claimTx;

  constructor(
    private readonly db: Db,
    options: SqliteTokenReplayStoreOptions = {},
  ) {
    this.pruneIntervalMs = options.pruneIntervalMs ?? 60_000;
    this.insert = db.prepare('INSERT INTO token_replay (issuer, jti, expires_at, claimed_at) VALUES (?, ?, ?, ?) ON CONFLICT (issuer, jti) DO NOTHING');
    this.forgetStale = db.prepare('DELETE FROM token_replay WHERE issuer = ? AND jti = ? AND expires_at < ?');
    this.deleteExpired = db.prepare('DELETE FROM token_replay WHERE expires_at < ?');
    this.claimTx = db.transaction((issuer: string, jti: string, expiresAt: number, now: number): boolean => {
      // A row past its expiry is as good as pruned (its token cannot pass verification any more).
      this.forgetStale.run(issuer, jti, now);
      return this.insert.run(issuer, jti, expiresAt, now).changes === 1;
    });
    this.prune(options.now);
  }

  claim(issuer: string, jti: string, expiresAt: Date, now: Date = new Date()): boolean {
    const t = now.getTime();
    if (t - this.lastPrune >= this.pruneIntervalMs) this.prune(now);
    return this.claimTx(issuer, jti, expiresAt.getTime(), t);
  }

  /** Deletes every claim whose token has expired; returns how many. */
  prune(now: Date = new Date()): number {
    this.lastPrune = now.getTime();
    return this.deleteExpired.run(this.lastPrune).changes;
  }

  /** How many ids are remembered (tests, diagnostics). */
  get size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM token_replay').get() as { n: number }).n;
  }
}
