/** Awaiting the next client message during the startup and authentication phases. */
import type { Socket } from 'node:net';
import type { FrontendFrame, FrontendReader } from './wire/index.ts';

/** Resolves with the next complete frame, or null when the client went away. Rejects on a protocol error. */
export function readFrame(sock: Socket, reader: FrontendReader): Promise<FrontendFrame | null> {
  const ready = reader.next();
  if (ready) return Promise.resolve(ready);
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.off('error', onClose);
      sock.pause();
    };
    const onData = (chunk: Buffer) => {
      try {
        reader.push(chunk);
        const f = reader.next();
        if (f) {
          cleanup();
          resolve(f);
        }
      } catch (e) {
        cleanup();
        reject(e);
      }
    };
    const onClose = () => {
      cleanup();
      resolve(null);
    };
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.once('error', onClose);
    sock.resume();
  });
}
