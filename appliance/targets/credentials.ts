/** Reads a target credential when a connection needs it. The value only ever travels to the target. */
import { readFileSync } from 'node:fs';
import { VigilError } from '../../shared/errors.ts';
import type { CredentialSource } from './config.ts';

export function readCredential(source: CredentialSource | undefined, resolvePath: (p: string) => string, target: string): string | undefined {
  if (!source) return undefined;
  if ('env' in source) {
    const v = process.env[source.env];
    if (!v) throw new VigilError('E_CREDENTIAL', `target ${target}: environment variable ${source.env} is not set`);
    return v;
  }
  const path = resolvePath(source.file);
  try {
    const first = readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '';
    if (!first) throw new Error('empty');
    return first;
  } catch (e) {
    throw new VigilError('E_CREDENTIAL', `target ${target}: cannot read its credential file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
