/** Hash helpers with domain separation, shared by archives, the log and keys. */
import { utf8, toHex } from '../bytes.ts';
import { crypto } from './backend.ts';

export function sha256(data: Uint8Array): Uint8Array {
  return crypto().sha256(data);
}

export function sha256Parts(...parts: Uint8Array[]): Uint8Array {
  return crypto().sha256Parts(parts);
}

/** SHA-256 of `label + "\n" + data`: a digest that cannot be confused with one made for another purpose. */
export function taggedSha256(label: string, ...parts: Uint8Array[]): Uint8Array {
  return crypto().sha256Parts([utf8(label + '\n'), ...parts]);
}

export function sha256Hex(data: Uint8Array): string {
  return toHex(sha256(data));
}

