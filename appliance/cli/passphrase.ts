/**
 * Passphrases never come from the command line (they would show in `ps`): from a file, from
 * VIGIL_PASSPHRASE, or typed at a terminal prompt without echo.
 */
import { readFileSync } from 'node:fs';
import { VigilError } from '../../shared/errors.ts';

export const PASSPHRASE_ENV = 'VIGIL_PASSPHRASE';

export async function readPassphrase(opts: { file?: string | undefined; prompt: string; confirm?: boolean; why: string }): Promise<string> {
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch {
      throw new VigilError('E_USAGE', `cannot read the passphrase file ${opts.file}`);
    }
    return nonEmpty(text.split(/\r?\n/)[0] ?? '');
  }
  const env = process.env[PASSPHRASE_ENV];
  if (env) return nonEmpty(env);
  if (!process.stdin.isTTY) {
    throw new VigilError('E_USAGE', `${opts.why}, and there is no terminal to ask`, { hint: `give --passphrase-file FILE or set ${PASSPHRASE_ENV}` });
  }
  const first = await promptHidden(opts.prompt);
  if (opts.confirm && (await promptHidden('Repeat passphrase: ')) !== first) throw new VigilError('E_USAGE', 'the passphrases differ');
  return nonEmpty(first);
}

function nonEmpty(p: string): string {
  if (!p) throw new VigilError('E_USAGE', 'empty passphrase');
  return p;
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new VigilError('E_USAGE', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
