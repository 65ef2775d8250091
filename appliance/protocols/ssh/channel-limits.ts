/**
 * Caps the channels one client connection holds open (a channel flood: thousands of CHANNEL_OPENs, each of
 * which would open a channel on the target and an evidence stream). Session channels are capped as sshd's
 * MaxSessions caps them; port forwards separately. Only the first refusal of each kind is recorded, with
 * the count of all of them at the end, so a flood cannot flood the archive either.
 */
export type LimitedChannel = 'session' | 'forward';

export class ChannelLimits {
  private readonly open: Record<LimitedChannel, number> = { session: 0, forward: 0 };
  private readonly refused: Record<LimitedChannel, number> = { session: 0, forward: 0 };

  constructor(
    private readonly max: Readonly<Record<LimitedChannel, number>>,
    /** Called on the first refusal of a kind (record it). */
    private readonly firstRefusal: (kind: LimitedChannel, limit: number) => void,
  ) {}

  /** A release function (idempotent) when the channel may open; undefined when the connection is at its limit. */
  admit(kind: LimitedChannel): (() => void) | undefined {
    if (this.open[kind] >= this.max[kind]) {
      if (this.refused[kind]++ === 0) this.firstRefusal(kind, this.max[kind]);
      return undefined;
    }
    this.open[kind]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open[kind]--;
    };
  }

  /** How many opens were refused, by kind (only kinds with refusals); undefined when none was. */
  refusals(): Partial<Record<LimitedChannel, number>> | undefined {
    const r = Object.fromEntries(Object.entries(this.refused).filter(([, n]) => n > 0));
    return Object.keys(r).length ? r : undefined;
  }
}
