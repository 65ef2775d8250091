/**
 * OIDC token in, SSH certificate out (listeners.ssh.certificateIssuer): `POST /v1/ssh/certificates` on the
 * admin API trades a valid identity token and a public key for a user certificate minutes long, so a CI job
 * runs plain `ssh` with no long-lived key at all.
 *
 *   request  {"publicKey": "ssh-ed25519 AAAA…", "principals"?: ["deploy"], "lifetimeSeconds"?: 600}
 *   response {"certificate": "ssh-ed25519-cert-v01@openssh.com AAAA… <key id>", "keyId", "serial",
 *             "principals", "validAfter", "validBefore", "caPublicKey"}
 *
 * The principals are target logins the caller's policies grant (every one of them when none is asked for);
 * asking for another is refused. The key id names the token's issuer, subject and jti. The certificate
 * carries the verified identity in an `identity@vigil` extension, signed by the CA, so a login with it is
 * the token's identity (same provider, subject and groups as on the PostgreSQL gateway) — and only this CA's
 * certificates are read that way. Every issued certificate is written to the appliance log as
 * `credential.issued`; the token itself never is.
 */
import type { ApiRoute } from '../../admin/routes.ts';
import { RouteError } from '../../admin/routes.ts';
import type { VerifiedIdentity } from '../../identity/index.ts';
import type { PolicyEngine } from '../../policy/engine.ts';
import type { ExtraAuthority, CertificateIdentityMapper } from './cert-auth.ts';
import { SSH_CERT_METHOD } from './cert-auth.ts';
import { SshCertificateAuthority } from './certificate-authority.ts';
import type { SshListenerConfig, SshTarget } from './config.ts';
import { SshAuthError } from './errors.ts';
import { parsePublicKeyLine } from './public-key.ts';

export const IDENTITY_EXTENSION = 'identity@vigil';
export const CERTIFICATES_PATH = '/v1/ssh/certificates';

type IssuerConfig = NonNullable<SshListenerConfig['certificateIssuer']>;

/** What the certificate says about its holder (the extension's JSON). */
interface CarriedIdentity {
  provider: string;
  issuer: string;
  subject: string;
  groups: string[];
  tokenId?: string;
  tokenHash?: string;
}

const printable = (s: string, max = 200) => s.replace(/[^\x21-\x7e]/g, '?').slice(0, max);

export interface IssuerDeps {
  config: IssuerConfig;
  targets: ReadonlyMap<string, SshTarget>;
  policy: PolicyEngine;
  log: { append(type: 'credential.issued', fields: Record<string, unknown>): unknown };
  resolvePath(p: string): string;
  logger: { info(o: object, msg: string): void };
}

export class SshCertificateIssuer {
  readonly ca: SshCertificateAuthority;

  constructor(private readonly deps: IssuerDeps) {
    this.ca = SshCertificateAuthority.fromFile(deps.resolvePath(deps.config.key), 'listeners.ssh.certificateIssuer.key');
  }

  /** The listener trusts this CA, reading the identity from the certificate (never from its key id). */
  authority(): ExtraAuthority {
    return {
      entry: { name: 'vigil-issuer', keys: [this.ca.publicLine], groups: [], clockToleranceSeconds: 30, maxLifetimeSeconds: this.deps.config.maxLifetimeSeconds + 120, minRsaBits: 2048 },
      mapIdentity: carriedIdentity,
    };
  }

  route(): ApiRoute {
    return { method: 'POST', path: CERTIFICATES_PATH, handle: async (req) => ({ status: 201, body: this.issue(req.identity, req.body, req.address) }) };
  }

  /** The logins of SSH targets that some policy grants `who`. */
  grantedLogins(who: VerifiedIdentity): Set<string> {
    const out = new Set<string>();
    for (const t of this.deps.targets.values()) if (this.deps.policy.grant(who, t.name).ok) for (const l of [t.user, ...t.logins]) out.add(l);
    return out;
  }

  issue(who: VerifiedIdentity, body: Record<string, unknown>, address: string | null, now = new Date()): Record<string, unknown> {
    const c = this.deps.config;
    if (c.providers && !c.providers.includes(who.provider))
      throw new RouteError(403, 'E_SSH_CERT_PROVIDER', `tokens of identity provider ${who.provider} are not traded for SSH certificates (listeners.ssh.certificateIssuer.providers)`);
    if (typeof body['publicKey'] !== 'string') throw new RouteError(400, 'E_BAD_REQUEST', 'publicKey must be an OpenSSH public key line (ssh-ed25519 AAAA…)');
    let key;
    try {
      key = parsePublicKeyLine(body['publicKey'], 'publicKey');
    } catch (e) {
      throw new RouteError(400, 'E_BAD_REQUEST', (e as Error).message);
    }
    const granted = this.grantedLogins(who);
    if (granted.size === 0) throw new RouteError(403, 'E_SSH_CERT_NO_TARGET', `no policy grants ${who.subject} an SSH target`);
    const asked = body['principals'];
    if (asked !== undefined && (!Array.isArray(asked) || asked.length === 0 || !asked.every((p) => typeof p === 'string'))) throw new RouteError(400, 'E_BAD_REQUEST', 'principals must be a non-empty list of logins');
    const principals = asked ? [...new Set(asked as string[])] : [...granted].sort();
    const denied = principals.filter((p) => !granted.has(p));
    if (denied.length) throw new RouteError(403, 'E_SSH_CERT_PRINCIPAL', `no policy grants ${who.subject} a target with login ${denied.map((d) => JSON.stringify(printable(d, 64))).join(', ')}`);
    const lifetime = body['lifetimeSeconds'];
    if (lifetime !== undefined && (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime < 60)) throw new RouteError(400, 'E_BAD_REQUEST', 'lifetimeSeconds must be a whole number of seconds, at least 60');
    const seconds = Math.min((lifetime as number | undefined) ?? c.defaultLifetimeSeconds, c.maxLifetimeSeconds);
    const validAfter = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
    const validBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 + seconds * 1000);
    const keyId = `vigil:iss=${printable(who.issuer)}:sub=${printable(who.subject)}:jti=${printable(who.tokenId ?? '-', 100)}`;
    const carried: CarriedIdentity = { provider: who.provider, issuer: who.issuer, subject: who.subject, groups: who.groups, ...(who.tokenId ? { tokenId: who.tokenId } : {}), ...(who.tokenHash ? { tokenHash: who.tokenHash } : {}) };
    const cert = this.ca.sign({
      publicKeyBlob: key.blob,
      type: 'user',
      keyId,
      principals,
      validAfter,
      validBefore,
      // Forwarding and terminals are still the gateway policy's to decide; the certificate does not narrow them.
      extensions: { 'permit-port-forwarding': '', 'permit-pty': '', [IDENTITY_EXTENSION]: JSON.stringify(carried) },
    });
    const record = {
      kind: 'ssh-user-certificate',
      provider: who.provider,
      issuer: who.issuer,
      subject: who.subject,
      tokenId: who.tokenId ?? null,
      tokenHash: who.tokenHash ?? null,
      keyId,
      serial: String(cert.serial),
      principals,
      validAfter: validAfter.toISOString(),
      validBefore: validBefore.toISOString(),
      keyFingerprint: key.fingerprint,
      caFingerprint: this.ca.fingerprint,
      address,
    };
    this.deps.log.append('credential.issued', record);
    this.deps.logger.info({ subject: who.subject, keyId, serial: record.serial, principals, validBefore: record.validBefore }, 'SSH certificate issued');
    return { certificate: cert.line, keyId, serial: record.serial, principals, validAfter: record.validAfter, validBefore: record.validBefore, caPublicKey: this.ca.publicLine };
  }
}

/** Identity of a login with a certificate this appliance issued: what the token proved, from the signed extension. */
const carriedIdentity: CertificateIdentityMapper = (v) => {
  const raw = v.certificate.extensions.get(IDENTITY_EXTENSION);
  let c: CarriedIdentity | undefined;
  try {
    // The extension's data is one SSH string holding the JSON.
    const text = raw && raw.length >= 4 ? Buffer.from(raw.subarray(4)).toString('utf8') : '';
    c = JSON.parse(text) as CarriedIdentity;
  } catch {
    c = undefined;
  }
  if (!c || typeof c.subject !== 'string' || typeof c.provider !== 'string' || typeof c.issuer !== 'string' || !Array.isArray(c.groups))
    // Signed by our CA yet without the identity: not something this appliance writes. Refuse rather than guess.
    throw new SshAuthError('E_SSH_CERT_FORMAT', `certificate key id ${JSON.stringify(v.certificate.keyId.slice(0, 64))} from Vigil's own CA carries no identity`, 'the certificate is malformed or uses an unsupported feature');
  return {
    method: SSH_CERT_METHOD,
    provider: c.provider,
    issuer: c.issuer,
    subject: c.subject,
    groups: c.groups.filter((g): g is string => typeof g === 'string'),
    ...(c.tokenId ? { tokenId: c.tokenId } : {}),
    ...(c.tokenHash ? { tokenHash: c.tokenHash } : {}),
    ...(v.expiresAt ? { expiresAt: v.expiresAt.toISOString() } : {}),
    claims: { ...v.evidence, issuedBy: 'vigil certificate issuer' },
  };
};
