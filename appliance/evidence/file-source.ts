/** A ByteSource over a file, read with positional reads (no whole-file buffering). */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ByteSource } from '../../shared/evidence/byte-source.ts';

export interface FileSource extends ByteSource {
  close(): void;
}

export function openFileSource(path: string): FileSource {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  return {
    size,
    async read(offset, length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw new Error(`unexpected end of ${path} at ${offset + done}`);
        done += n;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}
