/**
 * Cancel keys. Clients get the gateway's own (pid, secret) pair, never the target's: a CancelRequest is
 * matched here (secret compared in constant time) and re-sent to the target with the target's key.
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export interface CancelTarget {
  cancel(): Promise<void>;
}

export class CancelRegistry {
  private readonly entries = new Map<number, { secret: Buffer; target: CancelTarget }>();

  issue(target: CancelTarget): { pid: number; secret: Buffer } {
    let pid: number;
    do pid = randomInt(1, 2 ** 31 - 1);
    while (this.entries.has(pid));
    const secret = randomBytes(4);
    this.entries.set(pid, { secret, target });
    return { pid, secret };
  }

  release(pid: number): void {
    this.entries.delete(pid);
  }

  find(pid: number, secret: Buffer): CancelTarget | undefined {
    const e = this.entries.get(pid);
    if (!e || e.secret.length !== secret.length || !timingSafeEqual(e.secret, secret)) return undefined;
    return e.target;
  }
}
