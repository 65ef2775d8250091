/**
 * Target output to the client, masked across reads (stream-masker.ts) and recorded as `output` events of its
 * channel before each piece is written: an exec's stdout and stderr, a shell's terminal. Backpressure: a slow
 * client pauses the target stream. Bytes held back for a possible keyword are released after IDLE_RELEASE_MS
 * of quiet (a prompt or a typed `c` would otherwise wait for the next output).
 */
import type { PipelineSession } from '../../pipeline/session.ts';
import { IDLE_RELEASE_MS, StreamMasker } from '../../pipeline/stream-masker.ts';

type Sink = NodeJS.WritableStream & { once(e: 'drain', f: () => void): unknown };

/**
 * What the client typed last on a terminal channel. Held keyword bytes that are only the echo of those keys
 * are released at once, without the quiet period: the client has them already, and a typed `c` or `p` would
 * otherwise show 5 ms late. Held digits are never released this way (releaseIdle keeps them).
 */
export class TypedKeys {
  private recent = Buffer.alloc(0);

  typed(chunk: Buffer): void {
    const both = Buffer.concat([this.recent, chunk]);
    this.recent = Buffer.from(both.subarray(Math.max(0, both.length - 64)));
  }

  /** Whether `held` is what the client typed last (its echo). */
  echoes(held: Buffer): boolean {
    return held.length > 0 && held.length <= this.recent.length && this.recent.subarray(this.recent.length - held.length).equals(held);
  }
}

/** Starts relaying; returns the flush to call when the target channel closes (releases what is still held). */
export function maskedRelay(session: PipelineSession, channel: number, from: NodeJS.ReadableStream, to: Sink, stream: string, onChunk?: (raw: Buffer) => void, keys?: TypedKeys): () => void {
  const masker = new StreamMasker((b, context) => session.masks.streamBytes(b, context));
  const send = (masked: Buffer) => {
    if (masked.length === 0) return true;
    session.record({ type: 'output', channel, stream, data: masked });
    return to.write(masked);
  };
  let idle: NodeJS.Timeout | undefined;
  from.on('data', (chunk: Buffer) => {
    clearTimeout(idle);
    onChunk?.(chunk);
    if (!send(masker.push(chunk))) {
      from.pause();
      to.once('drain', () => from.resume());
    }
    if (masker.holding && keys?.echoes(masker.heldBytes)) send(masker.releaseIdle());
    if (masker.holding) idle = setTimeout(() => send(masker.releaseIdle()), IDLE_RELEASE_MS);
  });
  let flushed = false;
  const flush = () => {
    if (flushed) return;
    flushed = true;
    clearTimeout(idle);
    send(masker.end());
  };
  from.on('end', flush);
  return flush;
}
