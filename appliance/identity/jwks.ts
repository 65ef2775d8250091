/**
 * Where a provider's verification keys come from: a local JWKS file (read once, at start-up) or an HTTPS
 * endpoint (jose's remote set: cached for cacheSeconds, refetched on an unknown `kid` at most once per
 * cooldownSeconds). A source that cannot produce keys throws E_ID_JWKS_UNAVAILABLE; "no key matches this
 * token" is left to the verifier, which reports it as a bad signature.
 */
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type FetchImplementation,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { IdentityError } from './errors.ts';
import type { JwksSource } from './config.ts';
import { httpsJwksFetch } from './jwks-fetch.ts';

export interface KeySource {
  readonly getKey: JWTVerifyGetKey;
  /** For log lines: the file or URL. */
  readonly location: string;
  /** Fetches now (remote); lets start-up report an unreachable endpoint before the first client does. */
  warmUp(): Promise<void>;
}

export interface KeySourceOptions {
  /** Absolute path of a path named in the config. */
  resolvePath: (p: string) => string;
  /** Replaces the HTTPS GET (tests). */
  fetch?: FetchImplementation;
}

const UNAVAILABLE_CLIENT = 'the gateway cannot verify tokens from this issuer right now; try again later';

export function keySource(provider: string, source: JwksSource, options: KeySourceOptions): KeySource {
  return source.kind === 'file' ? fileKeySource(provider, options.resolvePath(source.file)) : remoteKeySource(provider, source, options);
}

function fileKeySource(provider: string, path: string): KeySource {
  const unavailable = (why: string, hint?: string) =>
    new IdentityError('E_ID_JWKS_UNAVAILABLE', `identity provider ${provider}: JWKS file ${path} ${why}`, UNAVAILABLE_CLIENT, hint === undefined ? {} : { hint });
  let jwks: unknown;
  try {
    jwks = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const why = e instanceof SyntaxError ? `is not JSON: ${e.message}` : `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    throw unavailable(why, "export the issuer's JWKS (its jwks_uri) to this file");
  }
  const problem = jwksProblem(jwks);
  if (problem) throw unavailable(problem);
  let getKey: JWTVerifyGetKey;
  try {
    getKey = createLocalJWKSet(jwks as JSONWebKeySet);
  } catch (e) {
    throw unavailable(`is not a JWKS: ${(e as Error).message}`);
  }
  return { getKey, location: path, warmUp: () => Promise.resolve() };
}

function remoteKeySource(provider: string, source: Extract<JwksSource, { kind: 'url' }>, options: KeySourceOptions): KeySource {
  let ca: string | undefined;
  if (source.ca !== undefined) {
    const caPath = options.resolvePath(source.ca);
    try {
      ca = readFileSync(caPath, 'utf8');
    } catch (e) {
      throw new IdentityError('E_ID_JWKS_UNAVAILABLE', `identity provider ${provider}: cannot read jwks.ca ${caPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, UNAVAILABLE_CLIENT);
    }
  }
  const fetchImpl = options.fetch ?? httpsJwksFetch(ca === undefined ? {} : { ca });
  // jose reports any non-200 answer without its status; keep it for the log line.
  let lastStatus: number | undefined;
  const remote = createRemoteJWKSet(new URL(source.url), {
    timeoutDuration: source.timeoutMs,
    cooldownDuration: source.cooldownSeconds * 1000,
    cacheMaxAge: source.cacheSeconds * 1000,
    [customFetch]: async (url, init) => {
      lastStatus = undefined;
      const res = await fetchImpl(url, init);
      lastStatus = res.status;
      return res;
    },
  });
  const hint =
    source.ca === undefined
      ? 'check that the appliance can reach the URL (and set jwks.ca if it uses a private CA)'
      : 'check that the appliance can reach the URL and that jwks.ca signs its certificate';
  const unavailable = (e: unknown) => {
    const status = lastStatus !== undefined && lastStatus !== 200 ? ` (HTTP ${lastStatus})` : '';
    return new IdentityError('E_ID_JWKS_UNAVAILABLE', `identity provider ${provider}: cannot fetch the JWKS from ${source.url}: ${describeFetchError(e)}${status}`, UNAVAILABLE_CLIENT, { hint });
  };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (e) {
      // No (or several) matching keys after any refresh: the token's problem, not the endpoint's.
      if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys || e instanceof errors.JOSENotSupported) throw e;
      throw unavailable(e);
    }
  };
  const warmUp = async () => {
    try {
      await remote.reload();
    } catch (e) {
      throw unavailable(e);
    }
    const problem = jwksProblem(remote.jwks());
    if (problem) throw new IdentityError('E_ID_JWKS_UNAVAILABLE', `identity provider ${provider}: the JWKS at ${source.url} ${problem}`, UNAVAILABLE_CLIENT);
  };
  return { getKey, location: source.url, warmUp };
}

/**
 * What is wrong with a JWKS for verifying tokens, if anything. Private or symmetric key material in it
 * means someone exported the wrong thing: such a file is refused rather than used.
 */
export function jwksProblem(jwks: unknown): string | undefined {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) return 'is not a JWKS (an object with a "keys" array)';
  const keys = (jwks as { keys: unknown[] }).keys;
  if (keys.length === 0) return 'has no keys';
  for (const k of keys) {
    if (typeof k !== 'object' || k === null) return 'has a key that is not an object';
    const jwk = k as Record<string, unknown>;
    if (jwk['kty'] === 'oct') return 'holds a symmetric (oct) key; tokens must be verified with the issuer\'s public keys';
    if ('d' in jwk || 'p' in jwk || 'k' in jwk) return `holds private key material (key ${JSON.stringify(jwk['kid'] ?? '?')}); publish only public keys`;
  }
  return undefined;
}

/** A fetch failure as one line: undici and node:https hide the useful part (ECONNREFUSED, a TLS error) in `cause`. */
function describeFetchError(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof errors.JWKSTimeout) parts.push('timed out');
    else if (c instanceof Error) {
      const code = (c as { code?: unknown }).code;
      parts.push(typeof code === 'string' ? `${code}: ${c.message}` : c.message);
    }
    else parts.push(String(c));
  }
  return [...new Set(parts)].join(' ← ') || 'unknown error';
}
