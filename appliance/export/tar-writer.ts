/** Streams a ustar file: regular files only, content from memory or copied from disk in chunks. */
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { TAR_BLOCK } from '../../shared/evidence/tar.ts';

const ZERO = new Uint8Array(TAR_BLOCK * 2);

export class TarWriter {
  private readonly fd: number;
  private closed = false;
  written = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'wx', 0o600);
  }

  addBytes(name: string, data: Uint8Array, mtime = new Date()): void {
    this.header(name, data.length, mtime);
    this.write(data);
    this.pad(data.length);
  }

  /** Copies a file in 1 MiB chunks; `onBytes` reports progress. */
  addFile(name: string, path: string, size: number, onBytes?: (n: number) => void, mtime = new Date()): void {
    this.header(name, size, mtime);
    const fd = openSync(path, 'r');
    const buf = new Uint8Array(1 << 20);
    try {
      let done = 0;
      while (done < size) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - done), done);
        if (n === 0) throw new Error(`${path} shrank while being exported`);
        this.write(buf.subarray(0, n));
        done += n;
        onBytes?.(n);
      }
    } finally {
      closeSync(fd);
    }
    this.pad(size);
  }

  /** A member whose content arrives in chunks; `size` must be exact. */
  addChunks(name: string, size: number, chunks: Iterable<Uint8Array>, mtime = new Date()): void {
    this.header(name, size, mtime);
    let n = 0;
    for (const c of chunks) {
      n += c.length;
      if (n > size) throw new Error(`tar member ${name} is longer than announced`);
      this.write(c);
    }
    if (n !== size) throw new Error(`tar member ${name} is ${n} bytes, ${size} announced`);
    this.pad(size);
  }

  finish(): void {
    this.write(ZERO);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
  }

  abort(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }

  private header(name: string, size: number, mtime: Date): void {
    const h = new Uint8Array(TAR_BLOCK);
    let prefix = '';
    let base = name;
    if (name.length > 100) {
      const cut = name.lastIndexOf('/', 155);
      prefix = name.slice(0, cut);
      base = name.slice(cut + 1);
      if (cut < 0 || base.length > 100) throw new Error(`tar member name too long: ${name}`);
    }
    ascii(h, 0, base);
    ascii(h, 100, '0000640');
    ascii(h, 108, '0000000');
    ascii(h, 116, '0000000');
    if (size < 8 ** 11) ascii(h, 124, size.toString(8).padStart(11, '0'));
    else {
      h[124] = 0x80; // GNU base-256 for members of 8 GiB and more
      for (let i = 135, n = size; i > 124; i--, n = Math.floor(n / 256)) h[i] = n % 256;
    }
    ascii(h, 136, Math.floor(mtime.getTime() / 1000).toString(8).padStart(11, '0'));
    h[156] = 0x30;
    ascii(h, 257, 'ustar');
    ascii(h, 263, '00');
    ascii(h, 265, 'vigil');
    ascii(h, 297, 'vigil');
    ascii(h, 345, prefix);
    h.fill(32, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    ascii(h, 148, sum.toString(8).padStart(6, '0'));
    h[154] = 0;
    h[155] = 32;
    this.write(h);
  }

  private pad(size: number): void {
    const rem = size % TAR_BLOCK;
    if (rem) this.write(ZERO.subarray(0, TAR_BLOCK - rem));
  }

  private write(b: Uint8Array): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done);
    this.written += b.length;
  }
}

function ascii(h: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) h[at + i] = s.charCodeAt(i);
}
