/**
 * A local OIDC issuer for tests, the demo and benchmarks: generates ES256 (and optionally RS256) key
 * pairs, publishes their JWKS, mints tokens with any claims, lifetime or `kid`, and rotates keys.
 * Never configure it in production: it exists so that the real verifier can be exercised end to end
 * without GitHub or SPIRE.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';

export type TestAlgorithm = 'ES256' | 'RS256';

export interface TestKey {
  kid: string;
  alg: TestAlgorithm;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface MintOptions {
  /** Signing key (default: the newest key of `alg`). Any string is put in the header as is. */
  kid?: string;
  alg?: TestAlgorithm;
  /** exp − iat (default 300 s). */
  lifetimeSeconds?: number;
  /** The minting time (default: now); iat and nbf default to it. */
  now?: Date;
  /** Extra protected header parameters (override alg/kid/typ, too). */
  header?: Record<string, unknown>;
}

/** Claims to mint; a claim set to `undefined` is left out (e.g. `{ exp: undefined }`). */
export type MintClaims = { [claim: string]: unknown };

export interface GithubActionsTokenOptions extends MintOptions {
  audience: string | string[];
  repository?: string;
  ref?: string;
  environment?: string;
  workflow?: string;
  runId?: string;
  actor?: string;
  /** Claims to add or override (undefined removes one). */
  claims?: MintClaims;
}

export class TestIdentityProvider {
  private readonly keyList: TestKey[] = [];

  private constructor(readonly issuer: string) {}

  /** An issuer with one fresh key per algorithm (default: ES256 only). */
  static async create(options: { issuer?: string; algorithms?: TestAlgorithm[] } = {}): Promise<TestIdentityProvider> {
    const idp = new TestIdentityProvider(options.issuer ?? 'https://idp.vigil.test');
    for (const alg of options.algorithms ?? ['ES256']) await idp.addKey(alg);
    return idp;
  }

  get keys(): readonly TestKey[] {
    return this.keyList;
  }

  /** The newest key's kid for `alg`. */
  kid(alg: TestAlgorithm = 'ES256'): string {
    return this.newest(alg).kid;
  }

  /** The public JWKS (what a provider's jwks.file or jwks.url serves). */
  jwks(): JSONWebKeySet {
    return { keys: this.keyList.map((k) => ({ ...k.publicJwk })) };
  }

  writeJwks(path: string): string {
    writeFileSync(path, JSON.stringify(this.jwks(), null, 2) + '\n');
    return path;
  }

  /** Adds a new key (new kid) and returns its kid; `retire` drops the older keys of that algorithm. */
  async rotate(alg: TestAlgorithm = 'ES256', options: { retire?: boolean } = {}): Promise<string> {
    if (options.retire) for (let i = this.keyList.length - 1; i >= 0; i--) if (this.keyList[i]!.alg === alg) this.keyList.splice(i, 1);
    return (await this.addKey(alg)).kid;
  }

  /**
   * A signed token. Defaults: iss = this issuer, iat = nbf = now, exp = now + lifetime, jti = a UUID;
   * `claims` override them (undefined removes).
   */
  async mint(claims: MintClaims, options: MintOptions = {}): Promise<string> {
    const alg = options.alg ?? (options.kid !== undefined ? this.keyList.find((k) => k.kid === options.kid)?.alg : undefined) ?? 'ES256';
    const key = options.kid !== undefined ? this.keyList.find((k) => k.kid === options.kid) ?? this.newest(alg) : this.newest(alg);
    const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
    const payload: JWTPayload = { iss: this.issuer, iat, nbf: iat, exp: iat + (options.lifetimeSeconds ?? 300), jti: randomUUID() };
    for (const [k, v] of Object.entries(claims)) {
      if (v === undefined) delete payload[k];
      else payload[k] = v;
    }
    return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT', ...options.header } as { alg: string }).sign(key.privateKey);
  }

  /** A token shaped like GitHub Actions' (claims as documented by GitHub; string-valued ids, as GitHub sends them). */
  mintGithubActions(o: GithubActionsTokenOptions): Promise<string> {
    const repository = o.repository ?? 'acme/payments';
    const [owner = 'acme'] = repository.split('/');
    const ref = o.ref ?? 'refs/heads/main';
    const sub = o.environment ? `repo:${repository}:environment:${o.environment}` : `repo:${repository}:ref:${ref}`;
    const runId = o.runId ?? '9876543210';
    return this.mint(
      {
        sub,
        aud: o.audience,
        ref,
        sha: 'e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0',
        repository,
        repository_owner: owner,
        repository_owner_id: '1000001',
        repository_id: '2000002',
        repository_visibility: 'private',
        run_id: runId,
        run_number: '42',
        run_attempt: '1',
        actor: o.actor ?? 'release-bot',
        actor_id: '3000003',
        workflow: o.workflow ?? 'deploy',
        workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
        workflow_sha: 'e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0',
        job_workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
        job_workflow_sha: 'e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0',
        event_name: 'push',
        ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
        head_ref: '',
        base_ref: '',
        runner_environment: 'github-hosted',
        ...(o.environment ? { environment: o.environment } : {}),
        ...o.claims,
      },
      o,
    );
  }

  /** A JWT-SVID for `spiffeId`. */
  mintSpiffe(spiffeId: string, audience: string | string[], options: MintOptions & { claims?: MintClaims } = {}): Promise<string> {
    return this.mint({ sub: spiffeId, aud: audience, ...options.claims }, options);
  }

  private newest(alg: TestAlgorithm): TestKey {
    for (let i = this.keyList.length - 1; i >= 0; i--) if (this.keyList[i]!.alg === alg) return this.keyList[i]!;
    throw new Error(`test identity provider has no ${alg} key; create it with algorithms: ['${alg}'] or rotate('${alg}')`);
  }

  private async addKey(alg: TestAlgorithm): Promise<TestKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg);
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const key: TestKey = { kid, alg, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
    this.keyList.push(key);
    return key;
  }
}
