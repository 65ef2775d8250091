/**
 * Target output to the client, masked across reads (stream-masker.ts) and recorded as `output` events of its
 * channel before each piece is written: an exec's stdout and stderr, a shell's terminal. Backpressure: a slow
 * client pauses the target stream. Bytes held back for a possible keyword are released after IDLE_RELEASE_MS
 * of quiet (a prompt or a typed `c` would otherwise wait for the next output).
 */
import type { PipelineSession } from '../../pipeline/session.ts';
import { IDLE_RELEASE_MS, StreamMasker } from './stream-masker.ts';

type Sink = NodeJS.WritableStream & { once(e: 'drain', f: () => void): unknown };

/** Starts relaying; returns the flush to call when the target channel closes (releases what is still held). */
export function maskedRelay(session: PipelineSession, channel: number, from: NodeJS.ReadableStream, to: Sink, stream: string, onChunk?: (raw: Buffer) => void): () => void {
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
