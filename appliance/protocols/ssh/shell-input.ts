import { ShellLexError } from './shell-ast.ts';

/**
 * The command line as text, or a ShellLexError: over `maxBytes` of UTF-8, a NUL (the shell would cut the
 * line there, Vigil would see more than runs), invalid UTF-8. Given bytes, decoding is strict. Given a
 * string (already decoded by someone else), a lone surrogate or U+FFFD counts as invalid UTF-8: a lenient
 * decoder put it there in place of bytes we can no longer see.
 */
export function decodeCommandLine(input: string | Uint8Array, maxBytes: number): string {
  if (typeof input !== 'string') {
    if (input.length > maxBytes) throw new ShellLexError('shell.too-long', `command line over ${maxBytes} bytes`, maxBytes);
    const nul = input.indexOf(0);
    if (nul >= 0) throw new ShellLexError('shell.nul', 'command line holds a NUL byte', nul);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      throw new ShellLexError('shell.invalid-utf8', 'command line is not valid UTF-8', -1);
    }
  }
  if (input.length > maxBytes || new TextEncoder().encode(input).length > maxBytes) {
    throw new ShellLexError('shell.too-long', `command line over ${maxBytes} bytes`, maxBytes);
  }
  for (let k = 0; k < input.length; k++) {
    const c = input.charCodeAt(k);
    if (c === 0) throw new ShellLexError('shell.nul', 'command line holds a NUL byte', k);
    if (c === 0xfffd) throw new ShellLexError('shell.invalid-utf8', 'command line holds U+FFFD (bytes lost in decoding)', k);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = input.charCodeAt(k + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) throw new ShellLexError('shell.invalid-utf8', 'command line holds a lone surrogate', k);
      k++;
    } else if (c >= 0xdc00 && c <= 0xdfff) throw new ShellLexError('shell.invalid-utf8', 'command line holds a lone surrogate', k);
  }
  return input;
}
