/**
 * Single-use token ids in the fleet's shared PostgreSQL, so a token used on one appliance is refused on
 * every other. One statement claims: a new id is inserted; an id whose claim has expired (its token could
 * not pass verification any more) is taken over; a live one is left alone and the claim fails — atomic
 * under concurrent claims on several appliances (the primary key decides). Unreachable store: the claim
 * throws, and the token is refused (fail closed).
 */
import type { TokenReplayStore } from '../../identity/replay-store.ts';
import type { SharedPostgres } from './postgres.ts';

export class PostgresTokenReplayStore implements TokenReplayStore {
  private lastPrune = 0;

  constructor(
    private readonly pg: SharedPostgres,
    private readonly pruneIntervalMs = 60_000,
  ) {}

  async claim(issuer: string, jti: string, expiresAt: Date, now: Date = new Date()): Promise<boolean> {
    const t = now.getTime();
    if (t - this.lastPrune >= this.pruneIntervalMs) {
      this.lastPrune = t;
      void this.pg.query('DELETE FROM vigil_token_replay WHERE expires_at < $1', [t]).catch(() => undefined);
    }
    const r = await this.pg.query(
      `INSERT INTO vigil_token_replay (issuer, jti, expires_at, claimed_at, appliance_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at, claimed_at = EXCLUDED.claimed_at, appliance_id = EXCLUDED.appliance_id
       WHERE vigil_token_replay.expires_at < EXCLUDED.claimed_at`,
      [issuer, jti, expiresAt.getTime(), t, this.pg.applianceId],
    );
    return r.rowCount === 1;
  }
}
