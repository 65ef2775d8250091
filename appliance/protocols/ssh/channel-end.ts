/**
 * Ending a client channel that ran something (exec, shell), once: the book forgets it, `channel.close` records
 * how the program ended, and the client is told the same exit status or signal.
 */
import type { ServerChannel } from 'ssh2';
import type { PipelineSession } from '../../pipeline/session.ts';
import type { ChannelBook } from './exec-channel.ts';

export type Exit = { status: number | null; signal: string | null; coreDumped?: boolean; message?: string };

export interface ChannelEnd {
  finish(exit: Exit, reason?: string): void;
  readonly closed: boolean;
}

/** `beforeClose` runs first (an exec records its pending masking counts). */
export function channelEnd(session: PipelineSession, book: ChannelBook, channel: number, stream: ServerChannel, beforeClose?: () => void): ChannelEnd {
  let closed = false;
  return {
    get closed() {
      return closed;
    },
    finish(exit, reason) {
      if (closed) return;
      closed = true;
      book.open.delete(channel);
      book.lastActivity = Date.now();
      beforeClose?.();
      session.record({ type: 'channel.close', channel, exitStatus: exit.status, exitSignal: exit.signal, ...(reason ? { reason } : {}) });
      try {
        if (exit.status !== null) stream.exit(exit.status);
        else if (exit.signal) stream.exit(exit.signal, exit.coreDumped ?? false, exit.message ?? '');
      } catch {
        /* the client already closed its end */
      }
      stream.end();
    },
  };
}
