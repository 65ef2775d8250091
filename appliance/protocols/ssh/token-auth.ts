/**
 * An OIDC identity token as the SSH password or keyboard-interactive answer (listeners.ssh.acceptIdentityTokens),
 * for tools that can only send a password. The token is checked by the same JwtVerifierRegistry the
 * PostgreSQL gateway uses, so the identity is the same one a JWT gives there. The token itself is never
 * logged, recorded or echoed: refusals carry the verifier's internal message (which names claims and the
 * token's keyed hash, never the token) and the client gets the verifier's client message.
 */
import type { KeyboardAuthContext, PasswordAuthContext } from 'ssh2';
import { describeError } from '../../../shared/errors.ts';
import { clientMessageFor, isIdentityError, type JwtVerifierRegistry, type VerifiedIdentity } from '../../identity/index.ts';

export const TOKEN_PROMPT = 'Vigil identity token: ';

export type TokenCheck = { kind: 'verified'; identity: VerifiedIdentity } | { kind: 'refused'; code: string; reason: string; clientMessage: string };

/** The token the client typed: the password, or the one keyboard-interactive answer (undefined: none given). */
export function readToken(ctx: PasswordAuthContext | KeyboardAuthContext): Promise<string | undefined> {
  if (ctx.method === 'password') return Promise.resolve(ctx.password);
  return new Promise((resolve) => {
    ctx.prompt([{ prompt: TOKEN_PROMPT, echo: false }], 'Vigil', 'Paste the OIDC identity token Vigil accepts for you (it is not stored).', (answers: unknown) =>
      resolve(Array.isArray(answers) && typeof answers[0] === 'string' ? answers[0] : undefined),
    );
  });
}

/**
 * OpenSSH reads a password, and an SSH_ASKPASS answer, into a 1024-byte buffer: a longer token arrives cut
 * at 1023 bytes and cannot verify. Said plainly, since the client's own message is only "Permission denied".
 */
export const OPENSSH_PASSWORD_LIMIT = 1023;

export async function verifyToken(registry: JwtVerifierRegistry, raw: string): Promise<TokenCheck> {
  // A password prompt's line may end with whitespace a paste brought along; a JWT never holds any.
  const token = raw.trim();
  try {
    return { kind: 'verified', identity: await registry.verify(token) };
  } catch (e) {
    const code = isIdentityError(e) ? e.code : 'E_ID_INTERNAL';
    const cut = Buffer.byteLength(raw) === OPENSSH_PASSWORD_LIMIT && (code === 'E_ID_MALFORMED' || code === 'E_ID_BAD_SIGNATURE');
    if (cut) {
      const why = `the token is exactly ${OPENSSH_PASSWORD_LIMIT} bytes: OpenSSH cuts passwords there, so it was probably truncated; trade it for a certificate instead (vigil ssh-cert)`;
      return { kind: 'refused', code, reason: `${describeError(e)} (${why})`, clientMessage: why };
    }
    return { kind: 'refused', code, reason: describeError(e), clientMessage: clientMessageFor(e) };
  }
}

/**
 * Tells a keyboard-interactive client why its token was refused (an info request with no prompts: OpenSSH
 * prints its instruction), then `done`. A password client cannot be told anything: `done` at once.
 */
export function tellRefusal(ctx: PasswordAuthContext | KeyboardAuthContext, message: string, done: () => void): void {
  if (ctx.method !== 'keyboard-interactive') return done();
  ctx.prompt([], 'Vigil', `vigil: ${message}`, () => done());
}
