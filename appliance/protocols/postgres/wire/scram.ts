/**
 * SCRAM-SHA-256 client (RFC 5802, RFC 7677) as PostgreSQL speaks it: no channel binding (gs2 header "n,,"),
 * an empty user name in client-first (the server takes the startup packet's user), the password SASLprep'd
 * as PostgreSQL does. The server must prove it knows the password: a wrong or missing server signature is
 * refused, so an impostor cannot just answer AuthenticationOk.
 *
 *   const scram = new ScramClient(password);
 *   send SASLInitialResponse(SCRAM_SHA_256, scram.clientFirstMessage())
 *   on SASLContinue(data): send SASLResponse(await scram.clientFinalMessage(data))
 *   on SASLFinal(data):    scram.verifyServerFinal(data)  // throws PgAuthError
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { PgAuthError } from './errors.ts';
import { scramPasswordBytes } from './saslprep.ts';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

const pbkdf2Async = promisify(pbkdf2);
const GS2_HEADER = 'n,,';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface ScramClientOptions {
  /** Client nonce (printable, no ','): tests only; by default 18 random bytes in base64, as libpq. */
  nonce?: string;
  /** User name in client-first; PostgreSQL ignores it and libpq sends none. For RFC test vectors. */
  user?: string;
  /** Refuse a server asking for more PBKDF2 iterations than this (PostgreSQL's default is 4096). */
  maxIterations?: number;
}

export class ScramClient {
  private readonly password: Buffer;
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private readonly maxIterations: number;
  private state: 'initial' | 'first-sent' | 'final-sent' | 'verified' = 'initial';
  private expectedServerSignature: Buffer | undefined;

  constructor(password: string | Uint8Array, options: ScramClientOptions = {}) {
    this.password = scramPasswordBytes(password);
    if (this.password.includes(0)) throw new RangeError('a PostgreSQL password cannot contain NUL');
    this.clientNonce = options.nonce ?? randomBytes(18).toString('base64');
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(this.clientNonce)) throw new RangeError('a SCRAM nonce is printable ASCII without ","');
    this.clientFirstBare = `n=${saslName(options.user ?? '')},r=${this.clientNonce}`;
    this.maxIterations = options.maxIterations ?? 1_000_000;
  }

  /** True once the server's signature checked out. */
  get verified(): boolean {
    return this.state === 'verified';
  }

  /** The data of SASLInitialResponse. */
  clientFirstMessage(): Buffer {
    if (this.state !== 'initial') throw new PgAuthError('SCRAM exchange already started');
    this.state = 'first-sent';
    return Buffer.from(GS2_HEADER + this.clientFirstBare);
  }

  /** Given SASLContinue's data (server-first), the data of SASLResponse (client-final). */
  async clientFinalMessage(serverFirstData: Uint8Array): Promise<Buffer> {
    if (this.state !== 'first-sent') throw new PgAuthError('unexpected SCRAM server-first message');
    const serverFirst = Buffer.from(serverFirstData).toString('utf8');
    const attrs = parseAttributes(serverFirst, ['r', 's', 'i'], 'server-first');
    const nonce = attrs.get('r')!;
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length || !/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) {
      throw new PgAuthError('invalid SCRAM response: the server nonce does not extend ours');
    }
    const saltB64 = attrs.get('s')!;
    if (saltB64 === '' || !BASE64.test(saltB64)) throw new PgAuthError('invalid SCRAM response: malformed salt');
    const salt = Buffer.from(saltB64, 'base64');
    const iterText = attrs.get('i')!;
    const iterations = /^[1-9][0-9]{0,9}$/.test(iterText) ? Number(iterText) : NaN;
    if (!(iterations <= this.maxIterations)) {
      throw new PgAuthError(`invalid SCRAM response: iteration count ${JSON.stringify(iterText)}`, { hint: `at most ${this.maxIterations} is accepted` });
    }

    const saltedPassword = await pbkdf2Async(this.password, salt, iterations, 32, 'sha256');
    const clientKey = hmac(saltedPassword, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
    this.expectedServerSignature = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
    this.state = 'final-sent';
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** Checks SASLFinal's data (server-final); throws PgAuthError unless the server proved the password. */
  verifyServerFinal(serverFinalData: Uint8Array): void {
    if (this.state !== 'final-sent' || !this.expectedServerSignature) throw new PgAuthError('unexpected SCRAM server-final message');
    const text = Buffer.from(serverFinalData).toString('utf8');
    if (text.startsWith('e=')) throw new PgAuthError(`the server refused SCRAM authentication: ${text.slice(2)}`);
    const v = parseAttributes(text, ['v'], 'server-final').get('v')!;
    const signature = BASE64.test(v) ? Buffer.from(v, 'base64') : Buffer.alloc(0);
    if (signature.length !== 32 || !timingSafeEqual(signature, this.expectedServerSignature)) {
      throw new PgAuthError('the server could not prove it knows the password (invalid SCRAM server signature)', {
        hint: 'the upstream may be an impostor: check its address and TLS settings',
      });
    }
    this.state = 'verified';
  }
}

const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 5802 saslname: ',' and '=' escaped. */
const saslName = (s: string): string => s.replaceAll('=', '=3D').replaceAll(',', '=2C');

/** "a=…,b=…" with exactly these attributes in this order (as libpq checks); a leading "m=" is refused. */
function parseAttributes(message: string, names: readonly string[], what: string): Map<string, string> {
  const parts = message.split(',');
  if (parts[0]?.startsWith('m=')) throw new PgAuthError(`invalid SCRAM ${what} message: mandatory extension not supported`);
  if (parts.length !== names.length) throw new PgAuthError(`malformed SCRAM ${what} message`);
  const out = new Map<string, string>();
  names.forEach((name, i) => {
    const part = parts[i]!;
    if (!part.startsWith(`${name}=`)) throw new PgAuthError(`malformed SCRAM ${what} message: expected attribute "${name}"`);
    out.set(name, part.slice(2));
  });
  return out;
}
