/**
 * PostgreSQL's md5 password response: "md5" + md5hex(md5hex(password + user) + salt). The inner hash is
 * what the server stores ("md5" + it, in pg_authid), the 4-byte salt makes each response single-use.
 */
import { createHash } from 'node:crypto';

export function md5PasswordResponse(user: string | Uint8Array, password: string | Uint8Array, salt: Uint8Array): string {
  if (salt.length !== 4) throw new RangeError('the MD5 salt is 4 bytes');
  const inner = createHash('md5').update(password).update(user).digest('hex');
  return 'md5' + createHash('md5').update(inner).update(salt).digest('hex');
}
