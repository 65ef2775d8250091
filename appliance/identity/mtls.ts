/**
 * Identity from a TLS client certificate. The listener asks for a certificate but does not reject an
 * untrusted one during the handshake (`mtlsServerOptions`): it passes `socket.authorized` here instead,
 * so the client gets a typed error it can act on (and the attempt is audited) rather than a bare TLS
 * alert. The chain check itself is Node's, against `mtls.ca`.
 *
 * Subject: identityFrom san-uri → the certificate's single URI SAN, which must be a SPIFFE ID (X509-SVID
 * rules: exactly one URI SAN); subject-cn → the subject's single CN.
 * Groups (groupsFrom): spiffe-id → as for JWT-SVIDs (spiffe-id.ts); subject-ou → ou:<each OU>;
 * subject-o → o:<each O>.
 * issuer = the issuer DN, tokenId = serial number (hex), tokenHash = keyed hash of the DER.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PeerCertificate, TlsOptions } from 'node:tls';
import { identityText, ClaimProblem, uniq } from './claims.ts';
import type { MtlsConfig } from './config.ts';
import { IdentityError, isoSeconds, logValue, type IdentityErrorCode } from './errors.ts';
import { isSpiffeId, parseSpiffeId, spiffeGroups, type SpiffeId } from './spiffe-id.ts';
import { checkFingerprintKey, tokenHash } from './token-hash.ts';
import type { ClaimValue, VerifiedIdentity } from './verified-identity.ts';

export interface CertificateContext {
  /** The appliance's fingerprint key (as for tokens). */
  fingerprintKey: Uint8Array;
  /** The time to check validity at (default: now). */
  now?: Date;
  /** `socket.authorizationError`, for the log line when the chain did not verify. */
  authorizationError?: Error | string | null;
}

/** TLS server options for an mTLS listener: ask for a client certificate, judge it in identityFromCertificate. */
export function mtlsServerOptions(cfg: MtlsConfig, resolvePath: (p: string) => string): Pick<TlsOptions, 'ca' | 'requestCert' | 'rejectUnauthorized'> {
  const path = resolvePath(cfg.ca);
  let ca: string;
  try {
    ca = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IdentityError('E_MTLS_UNTRUSTED', `mtls ${cfg.name}: cannot read the client CA file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'client certificates cannot be verified right now');
  }
  return { ca, requestCert: true, rejectUnauthorized: false };
}

export function identityFromCertificate(
  peerCert: PeerCertificate | X509Certificate | null | undefined,
  authorized: boolean,
  cfg: MtlsConfig,
  ctx: CertificateContext,
): VerifiedIdentity {
  checkFingerprintKey(ctx.fingerprintKey);
  const fail = (code: IdentityErrorCode, internal: string, client: string, hash?: string) =>
    new IdentityError(code, `mtls ${cfg.name}: ${internal}`, client, hash === undefined ? {} : { tokenHash: hash });

  const cert = toX509(peerCert);
  if (cert === undefined) throw fail('E_MTLS_NO_CERT', 'the client presented no certificate', 'a client certificate is required');
  if (cert instanceof Error) throw fail('E_MTLS_MALFORMED', `the client certificate does not parse: ${cert.message}`, 'the client certificate could not be read');

  const hash = tokenHash(ctx.fingerprintKey, cert.raw);
  const issuer = dn(cert.issuer);
  const who = `certificate ${logValue(dn(cert.subject))} serial ${cert.serialNumber} issued by ${logValue(issuer)}`;
  const nowMs = (ctx.now ?? new Date()).getTime();
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (!(nowMs <= notAfter)) {
    const at = isoSeconds(Math.floor(notAfter / 1000));
    throw fail('E_MTLS_EXPIRED', `${who} expired at ${at}`, `client certificate expired at ${at}; renew it`, hash);
  }
  if (!(nowMs >= notBefore)) {
    const at = isoSeconds(Math.floor(notBefore / 1000));
    throw fail('E_MTLS_NOT_YET_VALID', `${who} is not valid before ${at}`, `client certificate is not valid before ${at}; check the clocks`, hash);
  }
  if (!authorized) {
    const why = ctx.authorizationError instanceof Error ? ctx.authorizationError.message : (ctx.authorizationError ?? 'chain not verified');
    throw fail('E_MTLS_UNTRUSTED', `${who} does not chain to the configured CA: ${why}`, 'client certificate is not issued by a CA this gateway trusts', hash);
  }

  const legacy = cert.toLegacyObject();
  let subject: string;
  let spiffe: SpiffeId | undefined;
  try {
    if (cfg.identityFrom === 'san-uri') {
      spiffe = spiffeFromSan(cert.subjectAltName, cfg);
      subject = spiffe.id;
    } else {
      subject = identityText(single(legacy.subject?.CN, 'subject CN'), 'subject CN');
    }
  } catch (e) {
    if (!(e instanceof ClaimProblem)) throw e;
    throw fail('E_MTLS_NO_IDENTITY', `${who}: ${e.message}`, `client certificate has no usable identity: ${e.message}`, hash);
  }

  const groups: string[] = [];
  for (const source of cfg.groupsFrom) {
    if (source === 'spiffe-id' && spiffe) groups.push(...spiffeGroups(spiffe));
    if (source === 'subject-ou') groups.push(...list(legacy.subject?.OU).map((v) => `ou:${v}`));
    if (source === 'subject-o') groups.push(...list(legacy.subject?.O).map((v) => `o:${v}`));
  }

  const claims: Record<string, ClaimValue> = { subject_dn: dn(cert.subject), not_after: new Date(notAfter).toISOString() };
  if (spiffe) Object.assign(claims, { spiffe_id: spiffe.id, trust_domain: spiffe.trustDomain });
  return {
    method: 'mtls',
    provider: cfg.name,
    issuer,
    subject,
    groups: uniq(groups),
    tokenId: cert.serialNumber,
    tokenHash: hash,
    expiresAt: new Date(notAfter).toISOString(),
    claims,
  };
}

function toX509(peer: PeerCertificate | X509Certificate | null | undefined): X509Certificate | Error | undefined {
  if (peer === null || peer === undefined) return undefined;
  if (peer instanceof X509Certificate) return peer;
  // getPeerCertificate() returns {} when the client sent none.
  if (!peer.raw || peer.raw.length === 0) return undefined;
  try {
    return new X509Certificate(peer.raw);
  } catch (e) {
    return e as Error;
  }
}

/** Node's multi-line DN ("CN=a\nO=b", with commas in values escaped) as one line. */
function dn(s: string): string {
  return s.split('\n').join(', ');
}

function spiffeFromSan(san: string | undefined, cfg: MtlsConfig): SpiffeId {
  const entries = parseSubjectAltName(san ?? '');
  if (!entries) throw new ClaimProblem('subjectAltName', 'cannot be parsed');
  const uris = entries.filter((e) => e.type === 'URI').map((e) => e.value);
  if (uris.length === 0) throw new ClaimProblem('URI SAN', 'is missing (expected a SPIFFE ID)');
  if (uris.length > 1) throw new ClaimProblem('URI SAN', `appears ${uris.length} times (an X509-SVID has exactly one)`);
  const id = parseSpiffeId(uris[0]!);
  if (!isSpiffeId(id)) throw new ClaimProblem('URI SAN', `is not a SPIFFE ID: it ${id.error}`);
  if (cfg.trustDomains && !cfg.trustDomains.includes(id.trustDomain)) throw new ClaimProblem('URI SAN', `trust domain ${id.trustDomain} is not accepted`);
  return id;
}

/**
 * Node's subjectAltName string: "DNS:a, URI:spiffe://td/x, IP Address:1.2.3.4". Since the CVE-2021-44532
 * fix, a value containing a comma or quote is JSON-quoted ('URI:"x,y"'), so splitting on ", " is safe.
 */
export function parseSubjectAltName(san: string): { type: string; value: string }[] | undefined {
  const out: { type: string; value: string }[] = [];
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < san.length && (m = re.exec(san)) !== null) {
    const raw = m[2]!;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw;
      }
    }
    out.push({ type: m[1]!, value });
  }
  // Anything left unparsed could hide a second URI: refuse rather than guess.
  return re.lastIndex === san.length ? out : undefined;
}

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function single(v: string | string[] | undefined, what: string): string {
  if (Array.isArray(v)) throw new ClaimProblem(what, `appears ${v.length} times`);
  if (v === undefined) throw new ClaimProblem(what, 'is missing');
  return v;
}
