/**
 * Single-use tokens (`singleUseTokens: true` on an identity provider): a token's `jti` may be claimed
 * once. The store remembers claimed ids until the token could no longer be accepted anyway (its `exp`
 * plus the provider's clock tolerance) and may forget them after that.
 *
 * An interface because where the memory lives is a deployment choice: one appliance keeps it in its own
 * SQLite database (appliance/store/token-replay-store.ts), which survives restarts; a fleet of appliances
 * behind one name shares one store in PostgreSQL (appliance/store/shared/token-replay.ts), or a token
 * replayed against a second appliance would pass.
 */
export interface TokenReplayStore {
  /**
   * Records that the token `jti` from `issuer` has been used, and says whether this was its first use:
   * true → first (now claimed), false → seen before (a replay). Atomic: of concurrent claims of the same
   * id, exactly one returns true. `expiresAt` is when the claim may be forgotten; `now` is the time of the
   * claim (default: now). A store that cannot answer throws (the token is then refused).
   */
  claim(issuer: string, jti: string, expiresAt: Date, now?: Date): boolean | Promise<boolean>;
}
