/**
 * Lets ssh2's Client log in with an OpenSSH user certificate — which ssh2 1.17 cannot do by itself.
 *
 * ssh2 sends the publickey request with the key's own type as the algorithm and writes the signature blob
 * as `string algorithm, string signature` with that same algorithm. For a certificate the request must name
 * the certificate type (`ssh-ed25519-cert-v01@openssh.com`) while the signature blob must name the plain
 * signature format (`ssh-ed25519`): sshd refuses anything else. So, for one marked key only, this adapter
 * replaces the Client's `authPK` on that connection's protocol object: the query (no signature) goes through
 * ssh2 unchanged, and the signed request is written here, over the session id ssh2 negotiated, and sent
 * through ssh2's own packet writer and cipher. Every other key and connection is untouched.
 *
 * It relies on four ssh2 internals (`_protocol`, `_kex.sessionID`, `_packetRW.write`, `_authsQueue`) and
 * ssh2's `sendPacket`; they are checked before use, so a changed ssh2 fails the login with E_SSH_ADAPTER
 * (a clear error, recorded) instead of sending something malformed. The integration test logs in to a
 * real sshd with `TrustedUserCAKeys`, so an ssh2 upgrade that breaks this is caught.
 */
import { createRequire } from 'node:module';
import type { Client, ParsedKey } from 'ssh2';
import { VigilError } from '../../../shared/errors.ts';
import { sshString } from './wire.ts';

const require = createRequire(import.meta.url);
const te = new TextEncoder();

interface Ssh2Protocol {
  authPK(username: string, key: unknown, keyAlgo?: unknown, cbSign?: unknown): void;
  _kex?: { sessionID?: Buffer };
  _packetRW?: { write?: { alloc(n: number): Buffer; allocStart: number; finalize(b: Buffer): Buffer } };
  _authsQueue?: string[];
}

/** ssh2's packet sender (lib/protocol/utils.js), loaded once. */
function ssh2SendPacket(): (proto: unknown, packet: Buffer) => void {
  const utils = require('ssh2/lib/protocol/utils.js') as { sendPacket?: (proto: unknown, packet: Buffer) => void };
  if (typeof utils.sendPacket !== 'function') throw adapterError('lib/protocol/utils.js has no sendPacket');
  return utils.sendPacket;
}

function adapterError(what: string): VigilError {
  const version = (require('ssh2/package.json') as { version: string }).version;
  return new VigilError('E_SSH_ADAPTER', `certificate login to the target is not possible with ssh2 ${version}: ${what} (appliance/protocols/ssh/ssh2-certificate-login.ts was written for ssh2 1.17)`);
}

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length)));
}

export interface CertificateLoginKey {
  /** Pass this as the `key` of an authHandler `publickey` entry. */
  key: ParsedKey;
  /** Call right after `client.connect(…)`, before authentication starts. */
  install(client: Client): void;
}

/**
 * `privateKey`: the certified key's private half, parsed by ssh2 (Ed25519); `certificate`: the certificate
 * blob and its type.
 */
export function certificateLoginKey(privateKey: ParsedKey, certificate: { blob: Uint8Array; certType: string }, signatureFormat = 'ssh-ed25519'): CertificateLoginKey {
  if (privateKey.type !== 'ssh-ed25519') throw new VigilError('E_SSH_ADAPTER', `certificate login supports Ed25519 keys, not ${privateKey.type}`);
  const blob = Buffer.from(certificate.blob);
  // Inherits everything ssh2 checks (it is "parsed" and private) and shows the certificate as its public key.
  const key = Object.create(privateKey, {
    type: { value: certificate.certType },
    getPublicSSH: { value: () => blob },
  }) as ParsedKey;
  const sendPacket = ssh2SendPacket();
  return {
    key,
    install(client: Client) {
      const proto = (client as unknown as { _protocol?: Ssh2Protocol })._protocol;
      if (!proto || typeof proto.authPK !== 'function') throw adapterError('the Client has no protocol object after connect()');
      const original = proto.authPK;
      proto.authPK = function (this: Ssh2Protocol, username: string, pubKey: unknown, keyAlgo?: unknown, cbSign?: unknown): void {
        if (pubKey !== key) return original.call(this, username, pubKey, keyAlgo, cbSign);
        const signing = typeof keyAlgo === 'function' || typeof cbSign === 'function';
        if (!signing) return original.call(this, username, pubKey, certificate.certType);
        const sessionId = this._kex?.sessionID;
        const w = this._packetRW?.write;
        if (!Buffer.isBuffer(sessionId) || !w || typeof w.alloc !== 'function' || typeof w.finalize !== 'function' || !Array.isArray(this._authsQueue)) throw adapterError('its protocol internals changed');
        const request = concat([
          new Uint8Array([50]), // SSH_MSG_USERAUTH_REQUEST
          sshString(te.encode(username)),
          sshString(te.encode('ssh-connection')),
          sshString(te.encode('publickey')),
          new Uint8Array([1]),
          sshString(te.encode(certificate.certType)),
          sshString(blob),
        ]);
        const signature = privateKey.sign(concat([sshString(sessionId), request]));
        if (signature instanceof Error) throw new VigilError('E_SSH_ADAPTER', `signing the target login failed: ${signature.message}`);
        const payload = concat([request, sshString(concat([sshString(te.encode(signatureFormat)), sshString(signature)]))]);
        const packet = w.alloc(payload.length);
        payload.copy(packet, w.allocStart);
        this._authsQueue.push('publickey');
        sendPacket(this, w.finalize(packet));
      };
    },
  };
}
